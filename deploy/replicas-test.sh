#!/usr/bin/env bash
# Three `pointsman serve` replicas behind nginx, sharing PostgreSQL, all on 127.0.0.1, checked from the outside:
#   budget     a key's hard daily budget holds across replicas (answers spread over them; then 429 from every one)
#   sessions   a conversation whose turns go to different replicas stays on its model
#   failover   wrk drives /v1/route through nginx while one replica is stopped (SIGTERM, as an orchestrator stops a
#              pod): no request fails (nginx retries /v1/route, which is idempotent, on the survivors) and the others
#              keep serving
#   reload     a catalog edit reaches every replica (each watches its files): their routing version stamps agree
#   log        decision-log rows equal the 2xx answers of a load run during which PostgreSQL restarts
# Installs what is missing (nginx, wrk: Debian packages; PostgreSQL and the llama-cpp-python peer: .ci/peers.sh),
# stops everything it started, exits 0 only if every check held.
# Usage: deploy/replicas-test.sh   (POINTSMAN_BINARY=path to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
BIN="${POINTSMAN_BINARY:-$ROOT/.build/debug/pointsman}"
[ -x "$BIN" ] || swift build --product pointsman >/dev/null

work=$(mktemp -d /tmp/pointsman-replicas.XXXXXX)
chmod 755 "$work"
pids=()
started_postgres=0 started_llama=0
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Replicas drain for up to their grace period; past 10 s they are killed.
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${db:-}" ] && "$POINTSMAN_POSTGRES_BIN/psql" -q "$POINTSMAN_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  # Only the peers this script started.
  [ "$started_llama" = 1 ] && "$ROOT/.ci/peers.sh" stop llama >/dev/null 2>&1 || true
  [ "$started_postgres" = 1 ] && "$ROOT/.ci/peers.sh" stop postgres >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Peers: PostgreSQL and an OpenAI-compatible model server (llama-cpp-python with SmolLM2-135M).
curl -sf "http://127.0.0.1:${POINTSMAN_LLAMA_PORT:-8082}/v1/models" >/dev/null 2>&1 || started_llama=1
(exec 3<>"/dev/tcp/127.0.0.1/${POINTSMAN_POSTGRES_PORT:-54329}") 2>/dev/null || started_postgres=1
# Captured first: `eval "$(…)"` would hide a failing start under set -e.
for peer in postgres llama client; do
  exports=$("$ROOT/.ci/peers.sh" start "$peer")
  eval "$exports"
done
db="replicas_$(date +%s)_$$"
"$POINTSMAN_POSTGRES_BIN/psql" -q "$POINTSMAN_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
DATABASE_URL="${POINTSMAN_TEST_DATABASE_URL%/*}/$db"

# Two models on the one small upstream model, with prices that make each answer count against a budget.
cat >"$work/catalog.json" <<JSON
{"version": 1, "default_model": "writer", "models": [
  {"alias": "writer", "capabilities": ["general", "creative", "qa", "reasoning", "summarize", "translation", "classification", "extraction"],
   "priority": 1, "upstream_model": "smollm2-135m-instruct", "cost_per_1k_input": 0.2, "cost_per_1k_output": 0.4, "context_length": 2048},
  {"alias": "coder", "capabilities": ["code", "math"],
   "priority": 1, "upstream_model": "smollm2-135m-instruct", "cost_per_1k_input": 0.2, "cost_per_1k_output": 0.4, "context_length": 2048}]}
JSON
printf 'alpha\nbeta\n' >"$work/keys"
# alpha may spend 0.1 a day: a few answers.
echo '{"budget": {"per_key_daily": {"hard": 0.1}}}' >"$work/config.json"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORTS=("$(port)" "$(port)" "$(port)")
start_replica() {  # index
  local i=$1
  POINTSMAN_DATABASE_URL="$DATABASE_URL" "$BIN" serve --port "${PORTS[$i]}" --config "$work/config.json" \
    --catalog "$work/catalog.json" --upstream "$POINTSMAN_LLAMA_URL" --api-key-file "$work/keys" --log-prompts \
    --decision-spill "$work/spill-$i.jsonl" >"$work/replica-$i.log" 2>&1 &
  pids[$i]=$!
  disown "${pids[$i]}"  # the failover check kills one on purpose: no job notice for it
}
ready() {  # url
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "not ready: $1" >&2; return 1
}
for i in 0 1 2; do start_replica "$i"; done
for i in 0 1 2; do ready "http://127.0.0.1:${PORTS[$i]}/readyz"; done

NGINX_PORT=$(port)
mkdir -p "$work/nginx-tmp"; chmod 777 "$work/nginx-tmp"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
cat >"$work/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  upstream pointsman {
    server 127.0.0.1:${PORTS[0]} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${PORTS[1]} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${PORTS[2]} max_fails=1 fail_timeout=10s;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_buffering off;
    proxy_read_timeout 120s;
    add_header X-Replica \$upstream_addr always;
    # Chat is not idempotent (it is charged): retried only when no replica received it.
    location / {
      proxy_pass http://pointsman;
      proxy_next_upstream error timeout;
    }
    # Routing decisions change nothing but the log: safe to retry on another replica.
    location = /v1/route {
      proxy_pass http://pointsman;
      # Whole answers only: one cut off by a dying replica is retried, never half-sent.
      proxy_buffering on;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
    }
  }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1
ready "http://127.0.0.1:$NGINX_PORT/readyz"

export PORTS_LIST="${PORTS[*]}" NGINX_URL="http://127.0.0.1:$NGINX_PORT" DATABASE_URL WORK="$work"
export CATALOG="$work/catalog.json" PSQL="$POINTSMAN_POSTGRES_BIN/psql"
"$POINTSMAN_OPENAI_PYTHON" "$ROOT/deploy/replicas_check.py" before-failover

# Failover: wrk through nginx; replica 2 is stopped (SIGTERM) three seconds in. (With SIGKILL, an answer cut off after
# its header cannot be retried by nginx: one request in two of ten runs here, so it is not what this check holds to.)
cat >"$work/route.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt": "Write a Python function that reverses a list"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer beta"
LUA
if [ -n "${REPLICAS_CONTROL_RUN:-}" ]; then
  wrk -t2 -c8 -d8s -s "$work/route.lua" "http://127.0.0.1:$NGINX_PORT/v1/route" | grep -E "requests in|Socket|Non-2xx"
fi
(sleep 3; kill -TERM "${pids[2]}") &
wrk -t2 -c8 -d8s --latency -s "$work/route.lua" "http://127.0.0.1:$NGINX_PORT/v1/route" >"$work/wrk.txt" 2>&1
sed -n "/requests in/,/Transfer/p" "$work/wrk.txt" | head -2
if grep -q "Non-2xx" "$work/wrk.txt" || grep -q "Socket errors" "$work/wrk.txt"; then
  echo "FAIL failover: requests failed while a replica was killed"; grep -E "Non-2xx|Socket errors" "$work/wrk.txt"
  sed -E "s/^[0-9/: ]+//; s/\*[0-9]+ //; s/client: .*//" "$work/nginx-error.log" | sort | uniq -c | sort -rn | head -8; exit 1
fi
total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
[ "${total:-0}" -gt 0 ] || { echo "FAIL failover: wrk completed no request"; exit 1; }
echo "ok   failover: $total /v1/route requests through nginx, none failed, one replica stopped mid-run"
for _ in $(seq 1 150); do kill -0 "${pids[2]}" 2>/dev/null || break; sleep 0.2; done
kill -9 "${pids[2]}" 2>/dev/null || true
start_replica 2
ready "http://127.0.0.1:${PORTS[2]}/readyz"

"$POINTSMAN_OPENAI_PYTHON" "$ROOT/deploy/replicas_check.py" after-failover
echo "replicas: every check held"
