#!/usr/bin/env bash
# Prepares the real kernel tree of the end-to-end runner tier: Debian's
# linux-source-6.1 imported into git with fixed identities and dates, so the
# base commit id is reproducible (d297c3ede9e7..., see
# ../shared/fixtures/mail/apply-6.1/README.md). Idempotent and cached under
# $PATCHBENCH_CACHE (default /var/cache/patchbench); prints the repo path.
# Installs the Debian packages the tier needs when run as root
# (`--packages-only`: only that).
set -euo pipefail
CACHE="${PATCHBENCH_CACHE:-/var/cache/patchbench}"
REPO="$CACHE/linux-source-6.1"
BASE=d297c3ede9e738a609a04b5f927b101e924fac8a
# The fixtures were made against exactly this package version; Debian's security updates move the
# installed one (6.1.192-3 changed the base commit), so the tarball comes from the pinned .deb.
SOURCE_VERSION=6.1.192-2
PKGS=(qemu-system-x86 busybox-static ccache flex bison bc cpio libelf-dev libssl-dev gcc make perl openssh-server openssh-client)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "prepare-kernel-tree: missing packages: ${missing[*]}" >&2; exit 2; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Keep Debian's init scripts from starting sshd on port 22: tests start their own.
  POLICY=/usr/sbin/policy-rc.d; created=0
  if [ ! -e "$POLICY" ]; then printf '#!/bin/sh\nexit 101\n' >"$POLICY"; chmod +x "$POLICY"; created=1; fi
  trap '[ $created -eq 1 ] && rm -f "$POLICY"' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# --packages-only: scripts/test.sh installs the tier's packages before any test starts, so no
# test sees a package half-installed by another (sshd unpacked but its user not yet created).
[ "${1:-}" = "--packages-only" ] && exit 0

mkdir -p "$CACHE"
if [ -d "$REPO/.git" ] && [ "$(git -C "$REPO" rev-parse -q --verify base 2>/dev/null)" = "$BASE" ]; then
  echo "$REPO"; exit 0
fi
# A half-made repo (killed import) is redone from scratch.
rm -rf "$REPO" "$REPO.tmp"
mkdir -p "$REPO.tmp"
DEB="$CACHE/linux-source-6.1_${SOURCE_VERSION}_all.deb"
if [ ! -s "$DEB" ]; then
  (cd "$CACHE" && apt-get download -q "linux-source-6.1=$SOURCE_VERSION" >&2) || {
    echo "prepare-kernel-tree: cannot download linux-source-6.1=$SOURCE_VERSION (apt-get update first?)" >&2; exit 2; }
fi
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/src/linux-source-6.1.tar.xz | tar -C "$REPO.tmp" -xJf -
mv "$REPO.tmp/linux-source-6.1" "$REPO"; rmdir "$REPO.tmp"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C \
  GIT_AUTHOR_NAME=fixture GIT_AUTHOR_EMAIL=fixture@example.invalid \
  GIT_COMMITTER_NAME=fixture GIT_COMMITTER_EMAIL=fixture@example.invalid \
  GIT_AUTHOR_DATE=2025-11-16T10:17:00Z GIT_COMMITTER_DATE=2025-11-16T10:17:00Z
cd "$REPO"
git init -q -b base
# Debian's top-level .gitignore ignores everything: -f is required.
git -c gc.auto=0 add -A -f
git -c gc.auto=0 commit -q -m "linux-source-6.1 6.1.192-2 (Debian)"
got="$(git rev-parse HEAD)"
if [ "$got" != "$BASE" ]; then echo "prepare-kernel-tree: base is $got, expected $BASE" >&2; exit 1; fi
git -c gc.auto=0 repack -adq
echo "$REPO"
