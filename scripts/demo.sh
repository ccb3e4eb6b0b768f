#!/usr/bin/env bash
# The OrcaOps demo on embedded defaults: sets the checkout up, starts `orcaops serve` in the background
# (embedded PostgreSQL in $ORCAOPS_HOME, default ~/.orcaops), creates an organisation admin token, a
# workspace and a developer token through the CLI, shows them, and stops the server at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
export ORCAOPS_HOME="${ORCAOPS_HOME:-$HOME/.orcaops}"
PORT="${ORCAOPS_PORT:-8000}"
export ORCAOPS_URL="http://127.0.0.1:${PORT}"
READY_WAIT_SECONDS="${READY_WAIT_SECONDS:-120}"
SERVER_LOG="$ORCAOPS_HOME/demo-server.log"
SERVER_PID=''

step() { printf '==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }
orcaops() { node bin/orcaops.js "$@"; }
# Reads one field from the JSON document on stdin: json_field token
json_field() { node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1"; }
http_ok() { node -e 'fetch(process.argv[1]).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; }
port_in_use() { node -e 'const s=require("net").connect(Number(process.argv[1]),"127.0.0.1");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$1"; }

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    step 'stopping the server'
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      printf 'demo: server did not stop within 30s; killing it\n' >&2
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=''
}
trap stop_server EXIT
trap 'exit 130' INT TERM

start_server() {
  port_in_use "$PORT" && fail "port $PORT is already in use: stop what listens there, or set ORCAOPS_PORT"
  mkdir -p "$ORCAOPS_HOME"
  step "starting orcaops serve on $ORCAOPS_URL (data: $ORCAOPS_HOME, log: $SERVER_LOG)"
  node bin/orcaops.js serve --port "$PORT" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local waited=0
  until http_ok "$ORCAOPS_URL/ready"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$SERVER_LOG" >&2 || true
      SERVER_PID=''
      fail 'the server exited during start (log above)'
    fi
    [ "$waited" -ge "$READY_WAIT_SECONDS" ] && { tail -n 30 "$SERVER_LOG" >&2; fail "not ready within ${READY_WAIT_SECONDS}s"; }
    sleep 1
    waited=$((waited + 1))
  done
  printf '    ready after %ss\n' "$waited"
}

bash scripts/setup.sh
start_server

step 'organisation admin token (orcaops admin create-token)'
ADMIN_TOKEN="$(orcaops admin create-token --name "demo-admin" --json | json_field token)"
printf '    %s…  (shown once; used below as ORCAOPS_TOKEN)\n' "${ADMIN_TOKEN:0:16}"

step 'workspace (orcaops workspaces create)'
WORKSPACE_NAME="demo-$(date +%Y%m%d-%H%M%S)"
WORKSPACE_ID="$(ORCAOPS_TOKEN="$ADMIN_TOKEN" orcaops workspaces create "$WORKSPACE_NAME" --json | json_field id)"
ORCAOPS_TOKEN="$ADMIN_TOKEN" orcaops workspaces get "$WORKSPACE_ID"

step 'developer token (orcaops tokens create --role developer)'
DEV_TOKEN="$(ORCAOPS_TOKEN="$ADMIN_TOKEN" orcaops tokens create "$WORKSPACE_ID" demo-developer --role developer --json | json_field token)"
ORCAOPS_TOKEN="$ADMIN_TOKEN" orcaops tokens list "$WORKSPACE_ID"

step 'the developer token as the API sees it (orcaops me)'
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops me

# jobs: the jobs issue adds 'orcaops run' here

step "demo done in $((SECONDS - START))s"
cat <<TEXT
    workspace        $WORKSPACE_NAME ($WORKSPACE_ID)
    developer token  $DEV_TOKEN
    The server stops now; start it again with \`node bin/orcaops.js serve\` (data stays in $ORCAOPS_HOME),
    then: export ORCAOPS_TOKEN=<developer token>; node bin/orcaops.js me
TEXT
