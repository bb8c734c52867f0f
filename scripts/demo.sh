#!/usr/bin/env bash
# The README's first command: install what is needed, then run the demo.
#   npm run demo              the full demo (6 cells, 6-10 rounds per variant)
#   npm run demo -- --quick   a smaller matrix (4 cells, 4 rounds per variant)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/demo.ts "$@"
