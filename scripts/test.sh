#!/usr/bin/env bash
# Every check CI runs: setup (dependencies, Docker engine, build, standard images), type check, lint,
# then the whole jest suite (unit, integration on embedded PostgreSQL, e2e, real-engine specs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
step() { printf '==> %s\n' "$*"; }

bash scripts/setup.sh
step 'type check (npm run typecheck)'
npm run --silent typecheck
step 'lint (npm run lint)'
npm run --silent lint
step 'module cycles (npm run check:cycles)'
npm run --silent check:cycles
step 'tests (jest)'
npx jest --ci
step "all checks passed in $((SECONDS - START))s"
