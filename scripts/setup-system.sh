#!/usr/bin/env bash
# Installs the Debian packages patchbench needs. Idempotent: a package that is
# already present is not fetched again, and apt is only refreshed when needed.
# netperf lives in Debian's non-free component, which a default Debian 12
# install does not enable; we add it in a separate source file.
set -euo pipefail

PACKAGES=(redis-server git iproute2 netperf public-inbox python3 clang llvm libbpf-dev bpftool openssh-client ca-certificates)
if [ "${PATCHBENCH_SETUP_EXTRA:-}" != "" ]; then
  # shellcheck disable=SC2206
  PACKAGES+=(${PATCHBENCH_SETUP_EXTRA})
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all packages present"
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
apt-get update -qq
# policy-rc.d keeps Debian's init scripts from starting daemons (netserver,
# redis) that would occupy well-known ports; patchbench starts its own.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"; chmod +x "$POLICY"; created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$POLICY"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: installed ${missing[*]}"
