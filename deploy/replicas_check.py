"""Checks for deploy/replicas-test.sh, run with the real `openai` client against three replicas behind nginx.

  before-failover: budget across replicas, session stickiness across replicas
  after-failover:  a catalog reload reaches every replica; decision-log rows equal the 2xx answers of a load run
                   during which PostgreSQL restarts
Prints one "ok" line per check; exits 1 at the first failure.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import openai

NGINX = os.environ["NGINX_URL"]
PORTS = os.environ["PORTS_LIST"].split()
DIRECT = [f"http://127.0.0.1:{p}" for p in PORTS]


def fail(message):
    print(f"FAIL {message}")
    sys.exit(1)


def client(base, key):
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=120)


def chat(base, key, messages, session=None):
    """One chat answer: (status, headers)."""
    headers = {"x-pointsman-session": session} if session else {}
    try:
        raw = client(base, key).chat.completions.with_raw_response.create(
            model="auto", messages=messages, max_tokens=8, extra_headers=headers)
        raw.parse()
        return raw.status_code, raw.headers
    except openai.APIStatusError as error:
        return error.status_code, error.response.headers


def budget():
    replicas, statuses = set(), []
    for _ in range(12):
        status, headers = chat(NGINX, "alpha", [{"role": "user", "content": "Say hello to my friend Ana"}])
        statuses.append(status)
        if status == 429:
            break
        if status != 200:
            fail(f"budget: a chat answer through nginx was HTTP {status}")
        replicas.add(headers.get("x-replica"))
    if statuses[-1] != 429:
        fail(f"budget: the hard limit never refused a request ({statuses})")
    if statuses.count(200) < 2 or len(replicas) < 2:
        fail(f"budget: expected answers from at least two replicas before the limit, got {statuses} from {replicas}")
    for url in DIRECT:
        status, _ = chat(url, "alpha", [{"role": "user", "content": "Say hello again"}])
        if status != 429:
            fail(f"budget: replica {url} answered HTTP {status} after the key's budget was spent")
    print(f"ok   budget: {statuses.count(200)} answers from {len(replicas)} replicas, then 429 from nginx and from each replica")


def sessions():
    session = "conversation-" + uuid.uuid4().hex
    poem = {"role": "user", "content": "Write a haiku about snow"}
    status, first = chat(DIRECT[0], "beta", [poem], session)
    if status != 200 or first.get("x-pointsman-session-outcome") != "new":
        fail(f"sessions: first turn HTTP {status}, outcome {first.get('x-pointsman-session-outcome')}")
    turns = [poem, {"role": "assistant", "content": "Snow falls on the roofs"},
             {"role": "user", "content": "Make it longer and sadder"}]
    for url in DIRECT[1:2]:
        status, later = chat(url, "beta", turns, session)
        outcome = later.get("x-pointsman-session-outcome")
        if status != 200 or outcome not in ("kept", "switched"):
            fail(f"sessions: a later turn on {url} did not know the conversation (HTTP {status}, outcome {outcome})")
        if outcome == "kept" and later.get("x-pointsman-model") != first.get("x-pointsman-model"):
            fail("sessions: a kept conversation changed model")
    print(f"ok   sessions: the second turn, on another replica, knew the conversation (outcome {outcome})")


def routing_version(url):
    with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
        return response.headers.get("x-pointsman-routing-version")


def reload():
    before = {routing_version(url) for url in DIRECT}
    if len(before) != 1:
        fail(f"reload: the replicas disagree before the edit: {before}")
    path = os.environ["CATALOG"]
    catalog = json.load(open(path))
    catalog["models"][0]["cost_per_1k_input"] = 0.3
    with open(path + ".new", "w") as handle:
        json.dump(catalog, handle)
    os.replace(path + ".new", path)
    deadline = time.time() + 30
    while time.time() < deadline:
        after = {routing_version(url) for url in DIRECT}
        if len(after) == 1 and after != before:
            print(f"ok   reload: all three replicas moved from {before.pop()} to {after.pop()}")
            return
        time.sleep(0.5)
    fail(f"reload: after 30 s the replicas report {[routing_version(url) for url in DIRECT]} (before: {before})")


def psql(sql):
    return subprocess.run([os.environ["PSQL"], os.environ["DATABASE_URL"], "-tAc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def restart_postgres():
    command = [os.environ["POINTSMAN_POSTGRES_BIN"] + "/pg_ctl", "-D", os.environ["POINTSMAN_POSTGRES_DATA"],
               "-m", "fast", "-w", "-l", os.environ["POINTSMAN_POSTGRES_DATA"] + ".log", "restart"]
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def decision_log():
    """Load through nginx for 5 s; PostgreSQL restarts after 1 s (checked: the server's start time falls inside the
    load). Every request must succeed, and the log must end with exactly one row per answer."""
    marker = uuid.uuid4().hex[:8]
    count = lambda: int(psql(f"SELECT count(*) FROM pointsman_decisions WHERE prompt LIKE '%{marker}%'"))
    sent, ok, lock, stop = [0], [0], threading.Lock(), time.time() + 5

    def worker(k):
        i = 0
        while time.time() < stop:
            i += 1
            body = json.dumps({"prompt": f"Summarize this note {marker}-{k}-{i}: the meeting moved to Friday"}).encode()
            request = urllib.request.Request(NGINX + "/v1/route", data=body, method="POST",
                                             headers={"Content-Type": "application/json", "Authorization": "Bearer beta"})
            with lock:
                sent[0] += 1
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if 200 <= response.status < 300:
                        with lock:
                            ok[0] += 1
            except Exception as error:
                print(f"     request failed: {error}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    restart_postgres()
    restarted_inside = time.time() < stop
    for thread in threads:
        thread.join()
    started = float(psql("SELECT extract(epoch FROM pg_postmaster_start_time())"))
    if not (restarted_inside and stop - 5 < started < stop):
        fail("log: PostgreSQL did not restart while the load ran")
    if ok[0] != sent[0]:
        fail(f"log: {sent[0] - ok[0]} of {sent[0]} requests failed during the PostgreSQL restart")
    held = [i for i in range(len(PORTS))
            if "holding records" in open(os.path.join(os.environ["WORK"], f"replica-{i}.log"), errors="replace").read()]
    deadline, rows = time.time() + 60, -1
    while time.time() < deadline:
        try:
            rows = count()
        except subprocess.CalledProcessError:
            rows = -1
        if rows == ok[0]:
            break
        time.sleep(0.5)
    if rows != ok[0]:
        for i in range(len(PORTS)):
            for line in open(os.path.join(os.environ["WORK"], f"replica-{i}.log"), errors="replace"):
                if "decision log" in line:
                    print(f"     replica {i}: {line.strip()[:300]}")
        fail(f"log: {ok[0]} answers were 2xx but the decision log has {rows} rows for them")
    print(f"ok   log: {ok[0]} answers, all 2xx, while PostgreSQL restarted ({len(held)} replicas had to hold records); "
          f"{rows} decision rows")


if __name__ == "__main__":
    phase = sys.argv[1]
    if phase == "before-failover":
        budget()
        sessions()
    elif phase == "after-failover":
        reload()
        decision_log()
    else:
        fail(f"unknown phase {phase}")
