#!/usr/bin/env bash
# The README's first command: install what is needed, then run the demo.
#   npm run demo              the full demo (about 15 minutes)
#   npm run demo -- --quick   a smaller matrix (about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/demo.ts "$@"
