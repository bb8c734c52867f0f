#!/usr/bin/env bash
# Installs what patchbench needs on this machine: Debian packages (as root)
# and the npm packages of the lockfile. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
