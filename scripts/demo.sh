#!/usr/bin/env bash
# The OrcaOps demo on embedded defaults: sets the checkout up, starts `orcaops serve` in the background
# (embedded PostgreSQL in $ORCAOPS_HOME, default ~/.orcaops), creates an organisation admin token, a
# workspace and a developer token through the CLI, runs real jobs (output streamed live, artifacts
# downloaded, exit codes passed through), uses a sandbox whose shell keeps its state, and stops the
# server at the end.
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

step 'a real job: python in a locked-down container, output streamed live (orcaops run)'
cat <<'TEXT'
    orcaops run orcaops/python --artifact 'out/*' -- python3 -c '...'
TEXT
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops run orcaops/python --tag demo --intent 'README demo' --artifact 'out/*' -- python3 -c '
import os, platform, socket
print("hello from", platform.python_implementation(), platform.python_version(), "as uid", os.getuid())
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("network: reachable")
except OSError as e:
    print("network: none (", e.strerror, ")")
try:
    open("/etc/hacked", "w")
except OSError as e:
    print("root filesystem:", e.strerror)
os.makedirs("out", exist_ok=True)
with open("out/primes.txt", "w") as f:
    primes = [n for n in range(2, 200) if all(n % d for d in range(2, int(n ** 0.5) + 1))]
    f.write(" ".join(map(str, primes)) + "\n")
print("wrote out/primes.txt with", len(primes), "primes")
'
JOB_ID="$(ORCAOPS_TOKEN="$DEV_TOKEN" orcaops jobs list --limit 1 --json | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s).items[0].id))')"

step 'its run record and artifacts (orcaops jobs get / artifacts / download)'
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops jobs get "$JOB_ID" --json | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(`    status=${j.status} reason=${j.reason} exit_code=${j.exit_code} duration=${j.duration_ms}ms cpu=${j.usage.cpu_seconds}s peak_mem=${j.usage.memory_peak_bytes}B`)})'
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops jobs artifacts "$JOB_ID"
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops jobs download "$JOB_ID" out/primes.txt -o - | head -c 200

step 'a failing job exits with its own exit code'
set +e
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops run orcaops/busybox -- sh -c 'echo about to fail >&2; exit 7'
CODE=$?
set -e
printf '    orcaops run exited with %s\n' "$CODE"
[ "$CODE" = 7 ] || fail "expected exit code 7, got $CODE"

step 'a sandbox for an agent: state persists across commands (orcaops sandbox create / shell / files / rm)'
SANDBOX_ID="$(ORCAOPS_TOKEN="$DEV_TOKEN" orcaops sandbox create orcaops/python --ttl 600 --name demo --json | json_field id)"
printf '    sandbox %s ready\n' "$SANDBOX_ID"
printf 'cd /tmp\nexport ANSWER=42\npwd; echo "ANSWER=$ANSWER"\npython3 -c "print(sum(range(10)))" > /workspace/sum.txt\n' |
  ORCAOPS_TOKEN="$DEV_TOKEN" orcaops sandbox shell "$SANDBOX_ID"
printf '    /workspace/sum.txt: '
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops sandbox files cat "$SANDBOX_ID" /workspace/sum.txt
ORCAOPS_TOKEN="$DEV_TOKEN" orcaops sandbox rm "$SANDBOX_ID" >/dev/null
printf '    sandbox removed\n'

step "demo done in $((SECONDS - START))s"
cat <<TEXT
    workspace        $WORKSPACE_NAME ($WORKSPACE_ID)
    developer token  $DEV_TOKEN
    The server stops now; start it again with \`node bin/orcaops.js serve\` (data stays in $ORCAOPS_HOME),
    then: export ORCAOPS_TOKEN=<developer token>; node bin/orcaops.js me
TEXT
