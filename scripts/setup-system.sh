#!/usr/bin/env bash
# Installs the Debian packages patchbench needs. Idempotent: a package that is
# already present is not fetched again, and apt is only refreshed when needed.
# netperf lives in Debian's non-free component, which a default Debian 12
# install does not enable; we add it in a separate source file.
set -euo pipefail

# One line per step: what is being done, then how long it took.
step() {
  local what=$1; shift
  local t0; t0=$(date +%s%N)
  printf 'setup-system: %s ... ' "$what"
  # apt's chatter (debconf notes) would break the line: shown only when the step fails.
  local log; log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "failed"; cat "$log" >&2; rm -f "$log"; return 1
  fi
  rm -f "$log"
  local t1; t1=$(date +%s%N)
  printf '%d.%d s\n' $(( (t1 - t0) / 1000000000 )) $(( (t1 - t0) / 100000000 % 10 ))
}

# git-email + libmailtools-perl: `git send-email --dry-run` logs are review input (a test makes one).
# Test-only packages (chromium for the dashboard's browser test, sshd, PostgreSQL, b4) come from
# scripts/test.sh through PATCHBENCH_SETUP_EXTRA: the demo does not fetch a browser.
PACKAGES=(redis-server git git-email libmailtools-perl iproute2 netperf public-inbox python3 clang llvm libbpf-dev bpftool openssh-client ca-certificates bubblewrap ccache)
if [ "${PATCHBENCH_SETUP_EXTRA:-}" != "" ]; then
  # shellcheck disable=SC2206
  PACKAGES+=(${PATCHBENCH_SETUP_EXTRA})
fi

# The user patch-controlled code runs as (checkpatch.pl of a tree, make): no login shell, no
# home, no groups; the runner drops to it with setpriv before starting bwrap (src/lib/sandbox.ts).
# Without it the sandbox falls back to uid 65534 and says so in the runner's log.
SANDBOX_USER="${PATCHBENCH_SANDBOX_USER:-patchbench-sandbox}"
ensure_sandbox_user() {
  if id -u "$SANDBOX_USER" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: user $SANDBOX_USER is missing; run as root to create it" >&2
    return 0
  fi
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --comment "patchbench sandbox (untrusted build and check code)" "$SANDBOX_USER"
  echo "setup-system: created user $SANDBOX_USER"
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all packages present"
  ensure_sandbox_user
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing packages (${missing[*]}); run as root or install them yourself" >&2
  exit 1
fi

NONFREE=/etc/apt/sources.list.d/patchbench-non-free.sources
if ! grep -rqsE '^(Components:.*\bnon-free\b|deb .* non-free( |$))' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat >"$NONFREE" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
step "apt-get update" apt-get update -qq
# policy-rc.d keeps Debian's init scripts from starting daemons (netserver,
# redis) that would occupy well-known ports; patchbench starts its own.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"; chmod +x "$POLICY"; created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$POLICY"' EXIT
step "installing ${#missing[@]} Debian package(s): ${missing[*]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
ensure_sandbox_user
