#!/usr/bin/env bash
# Installs what patchbench needs on this machine: Debian packages (as root)
# and the npm packages of the lockfile. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s%N)
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  t=$(date +%s%N)
  # npm ci is silent for a minute or two: say what it installs and why it takes that long.
  n=$(node -e 'const l = require("./package-lock.json"); console.log(Object.keys(l.packages).filter((k) => k.startsWith("node_modules/")).length)' 2>/dev/null || echo "the")
  printf 'ensure-deps: npm ci (%s packages of the lockfile; better-sqlite3 compiles from source, 1-2 min) ... ' "$n"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  t1=$(date +%s%N)
  printf '%d.%d s\n' $(( (t1 - t) / 1000000000 )) $(( (t1 - t) / 100000000 % 10 ))
else
  echo "ensure-deps: npm packages present"
fi
t1=$(date +%s%N)
printf 'ensure-deps: ready in %d.%d s\n' $(( (t1 - t0) / 1000000000 )) $(( (t1 - t0) / 100000000 % 10 ))
