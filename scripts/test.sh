#!/usr/bin/env bash
# The test command (README Quick start, .ci/run): installs what the tests need,
# then runs every *.test.ts under src/ and test/ with node:test.
# Node 20 does not expand globs for --test, so the list is built here.
# PATCHBENCH_TEST_FILTER=regex narrows the list.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test-only packages (sshd for the SSH boot target, b4 to compare series assembly with,
# chromium for the dashboard's browser test, driven by playwright-core, which brings no browser) and
# the kernel tier's go in before any test starts: a package installed by one test while another
# uses it is a race.
PATCHBENCH_SETUP_EXTRA="openssh-server postgresql b4 git-pw chromium ${PATCHBENCH_SETUP_EXTRA:-}" bash scripts/ensure-deps.sh
if [ "${PATCHBENCH_SKIP_KERNEL_E2E:-}" != "1" ] && [ "$(id -u)" -eq 0 ]; then
  bash scripts/prepare-kernel-tree.sh --packages-only >/dev/null
fi
# As root with bubblewrap the security suite can try every attack: a row it SKIPPED fails the run.
if [ "$(id -u)" -eq 0 ] && command -v bwrap >/dev/null 2>&1; then
  export PATCHBENCH_REQUIRE_SANDBOX="${PATCHBENCH_REQUIRE_SANDBOX:-1}"
fi
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ -n "${PATCHBENCH_TEST_FILTER:-}" ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$PATCHBENCH_TEST_FILTER")
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "test.sh: no test files found" >&2
  exit 1
fi
# Files that assert on measured performance (marked "patchbench:measure-alone") run after the
# rest, one at a time, so a kernel build or a QEMU boot in a neighbouring test does not land in
# their numbers.
shared=() alone=()
for f in "${files[@]}"; do
  if grep -q 'patchbench:measure-alone' "$f"; then alone+=("$f"); else shared+=("$f"); fi
done
echo "test.sh: ${#files[@]} test files (${#alone[@]} measured alone, after the rest)"
run() { node --import tsx --test --test-concurrency="$1" --test-timeout=2400000 "${@:2}"; }
status=0
if [ ${#shared[@]} -gt 0 ]; then run "${PATCHBENCH_TEST_CONCURRENCY:-2}" "${shared[@]}" || status=$?; fi
if [ ${#alone[@]} -gt 0 ]; then run 1 "${alone[@]}" || status=$?; fi
exit "$status"
