#!/usr/bin/env bash
# Brings up a patchbench runner box on Debian 12 from nothing, and ends with
# `patchbench runner doctor`. Idempotent: every step checks first and says
# "already ..." when there is nothing to do; nothing that exists is
# overwritten (a config, runner.env, a key, a pinned host key). See
# deploy/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")

usage() {
  cat <<EOF
Usage: deploy/setup-runner.sh [options]

Sets up this machine as a patchbench runner: Debian packages and npm
dependencies (scripts/ensure-deps.sh), the sandbox user, /etc/patchbench
(config, runner.env, the runner's ssh key, pinned host keys), the systemd
units, then runs \`patchbench runner doctor\` and exits with its status.

  --pool NAME               runner pool, the unit instance (default: bare-metal)
  --target HOST[:PORT]      ssh boot target: pin its host key, install the
                            restore-on-boot unit for it
  --target-fingerprint FP   the target's host key fingerprint (SHA256:...), as
                            read on its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub
  --target-user USER        ssh user on the target (default: root)
  --peer HOST[:PORT]        remote bench peer (bench.remote): pin its host key
  --peer-fingerprint FP     the peer's host key fingerprint (SHA256:...)
  --replace-pin             replace a pinned key that differs from the given
                            fingerprint (only after checking why it changed)
  --root DIR                install under DIR instead of / (a staging tree);
                            units are then enabled offline (systemctl --root)
  --app-dir DIR             where patchbench lives (default: this checkout, $REPO)
  --skip-packages           do not install Debian or npm packages
  --no-doctor               do not run \`patchbench runner doctor\` at the end
  --dry-run                 print each step, change nothing
  -h, --help                this text

A host key is pinned only when it matches the fingerprint you pass; the
script never trusts a first contact and never overwrites a pin by itself.
EOF
}

die() { echo "setup-runner: $*" >&2; exit 2; }
ROOT=/
APP_DIR=$REPO
POOL=bare-metal
DRY=0
SKIP_PACKAGES=0
DOCTOR=1
REPLACE_PIN=0
TARGET="" TARGET_FP="" TARGET_USER=root
PEER="" PEER_FP=""
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --pool) need "$@"; POOL=$2; shift 2 ;;
    --target) need "$@"; TARGET=$2; shift 2 ;;
    --target-fingerprint) need "$@"; TARGET_FP=$2; shift 2 ;;
    --target-user) need "$@"; TARGET_USER=$2; shift 2 ;;
    --peer) need "$@"; PEER=$2; shift 2 ;;
    --peer-fingerprint) need "$@"; PEER_FP=$2; shift 2 ;;
    --replace-pin) REPLACE_PIN=1; shift ;;
    --root) need "$@"; ROOT=$2; shift 2 ;;
    --app-dir) need "$@"; APP_DIR=$2; shift 2 ;;
    --skip-packages) SKIP_PACKAGES=1; shift ;;
    --no-doctor) DOCTOR=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# The rule patchbench itself applies (the pool names its queue): read from the source, so the two cannot drift.
POOL_RE=$(sed -n 's|^export const POOL_NAME = /\(.*\)/;$|\1|p' "$REPO/src/queue/queue-names.ts")
[ -n "$POOL_RE" ] || die "cannot read the pool name rule (POOL_NAME) from $REPO/src/queue/queue-names.ts"
[[ $POOL =~ $POOL_RE ]] || die "--pool: not a pool name (letters, digits, _ and -): $POOL"
[[ $TARGET_USER =~ ^[a-z_][a-z0-9_-]*$ ]] || die "--target-user: not a user name: $TARGET_USER"
case $ROOT in /*) ROOT=${ROOT%/} ;; *) die "--root must be an absolute path" ;; esac
case $APP_DIR in /*) ;; *) die "--app-dir must be an absolute path" ;; esac
# It goes into sed's replacement and the units' ExecStart=, where #, &, \, %, $, quotes and blanks mean something.
[[ $APP_DIR =~ ^/[A-Za-z0-9._/+,@=~-]*$ ]] || die "--app-dir: only letters, digits and . _ / + , @ = ~ - are taken in the path (it goes into the systemd units): $APP_DIR"
# HOST[:PORT] -> "host port"; the host as the config schema accepts it (a name or an IPv4 address).
split_host() {
  local what=$1 v=$2 host port=22
  host=${v%%:*}
  [ "$host" != "$v" ] && port=${v#*:}
  [[ $host =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || die "$what: not a host name or address: $v"
  [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "$what: not a port: $port"
  echo "$host $port"
}
check_fp() {
  [[ $2 =~ ^SHA256:[A-Za-z0-9+/]{43}$ ]] || die "$1: expected SHA256:<43 base64 characters> (ssh-keygen -lf prints it), got: $2"
}
if [ -n "$TARGET" ] || [ -n "$TARGET_FP" ]; then
  [ -n "$TARGET" ] && [ -n "$TARGET_FP" ] || die "--target and --target-fingerprint go together: a host key is never trusted on first contact"
  read -r TARGET_HOST TARGET_PORT <<<"$(split_host --target "$TARGET")"
  check_fp --target-fingerprint "$TARGET_FP"
fi
if [ -n "$PEER" ] || [ -n "$PEER_FP" ]; then
  [ -n "$PEER" ] && [ -n "$PEER_FP" ] || die "--peer and --peer-fingerprint go together: a host key is never trusted on first contact"
  read -r PEER_HOST PEER_PORT <<<"$(split_host --peer "$PEER")"
  check_fp --peer-fingerprint "$PEER_FP"
fi

# Paths as the units see them; under --root they are written below ROOT.
ETC=/etc/patchbench
DATA=/var/lib/patchbench
CCACHE=/var/cache/patchbench/ccache
UNITS=/etc/systemd/system
R() { echo "${ROOT%/}$1"; }
KEY=$ETC/ssh/id_ed25519
KNOWN=$ETC/ssh/known_hosts

N=0
step() { N=$((N + 1)); printf 'setup-runner: [%d] %s\n' "$N" "$*"; }
say() { printf '    %s\n' "$*"; }
# Run a changing command, or only show it under --dry-run.
act() {
  local cmd
  cmd=$(printf '%q ' "$@")
  if [ $DRY -eq 1 ]; then say "would run: ${cmd% }"; else say "run: ${cmd% }"; "$@"; fi
}
[ $DRY -eq 1 ] && echo "setup-runner: dry run: nothing is changed"

# 1. Node.js: Debian 12's nodejs is too old for patchbench; no third-party repository is added silently.
step "Node.js (package.json engines)"
want=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' "$REPO/package.json")
have=$(node --version 2>/dev/null | sed 's/^v//' || true)
if [ -z "$have" ]; then
  say "node not found; patchbench needs Node.js >= $want (Debian 12 ships 18): install it, e.g. from NodeSource's node_22.x for bookworm, then run this again"
  [ $DRY -eq 1 ] || exit 1
elif [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
  say "node $have is older than $want: install a newer Node.js (e.g. NodeSource's node_22.x), then run this again"
  [ $DRY -eq 1 ] || exit 1
else
  say "node $have (>= $want)"
fi

# 2. Packages: setup-system.sh's list plus the kernel build set of prepare-kernel-tree.sh (one list each).
step "Debian packages and npm dependencies (scripts/ensure-deps.sh)"
BUILD_PKGS=$(sed -n 's/^PKGS=(\(.*\))$/\1/p' "$REPO/scripts/prepare-kernel-tree.sh")
if [ $SKIP_PACKAGES -eq 1 ]; then
  say "skipped (--skip-packages)"
else
  act env PATCHBENCH_SETUP_EXTRA="$BUILD_PKGS" bash "$REPO/scripts/ensure-deps.sh"
fi

# 3. The sandbox user (created by setup-system.sh).
step "sandbox user patchbench-sandbox"
if id -u patchbench-sandbox >/dev/null 2>&1; then
  say "present"
elif [ $SKIP_PACKAGES -eq 1 ] || [ $DRY -eq 1 ]; then
  say "missing: scripts/setup-system.sh creates it (as root)"
else
  die "patchbench-sandbox is still missing after scripts/setup-system.sh (run it as root)"
fi

# 4. Directories, the config and the environment file; an existing file is never replaced.
step "directories under ${ROOT:-/}: $ETC, $ETC/ssh (0700), $DATA, $CCACHE"
for d in "$ETC:0755" "$ETC/ssh:0700" "$DATA:0750" "$CCACHE:0755"; do
  p=$(R "${d%:*}")
  if [ -d "$p" ]; then say "$p: already there"; else act install -d -m "${d#*:}" "$p"; fi
done
step "configuration $(R $ETC)/patchbench.yaml and runner.env"
if [ -e "$(R $ETC)/patchbench.yaml" ]; then
  say "$(R $ETC)/patchbench.yaml: already there (left as it is)"
else
  act cp -rn "$REPO/config/." "$(R $ETC)/"
fi
if [ -e "$(R $ETC)/runner.env" ]; then
  say "$(R $ETC)/runner.env: already there (left as it is)"
elif [ $DRY -eq 1 ]; then
  say "would write $(R $ETC)/runner.env (mode 0600): REDIS_URL to fill in"
else
  (umask 077 && printf '%s\n' "# The orchestrator's Redis (the runner takes its jobs there); secrets live only here." "REDIS_URL=redis://ORCHESTRATOR:6379" >"$(R $ETC)/runner.env")
  say "wrote $(R $ETC)/runner.env (mode 0600): set REDIS_URL"
fi

# 5. The runner's own ssh key for the target and the peer.
step "ssh key $(R $KEY)"
if [ -e "$(R $KEY)" ]; then
  say "already there: $(ssh-keygen -lf "$(R $KEY).pub" | awk '{print $2}')"
else
  act ssh-keygen -q -t ed25519 -N "" -C "patchbench-runner@$(hostname)" -f "$(R $KEY)"
fi
if [ $DRY -eq 0 ]; then
  say "authorize it on the ssh target: append $(R $KEY).pub to ~$TARGET_USER/.ssh/authorized_keys there (--target-user)"
  say "and on the bench peer: append it to ~root/.ssh/authorized_keys there (the peer's user, bench.remote.user, is root unless the tree says otherwise)"
fi

# 6. Host keys: pinned only when the key the machine offers matches the fingerprint the admin read on its console.
pin() {
  local role=$1 host=$2 port=$3 fp=$4 name kh pinned line lfp offered="" match=""
  name=$host
  [ "$port" != 22 ] && name="[$host]:$port"
  kh=$(R $KNOWN)
  step "pin the $role's host key ($name, $fp) in $kh"
  pinned=""
  if [ -f "$kh" ]; then
    pinned=$(ssh-keygen -F "$name" -f "$kh" 2>/dev/null | grep -v '^#' | ssh-keygen -lf - 2>/dev/null | awk '{print $2}' | sort -u || true)
  fi
  if [ -n "$pinned" ] && grep -qxF "$fp" <<<"$pinned"; then say "already pinned"; return 0; fi
  if [ -n "$pinned" ] && [ $REPLACE_PIN -eq 0 ]; then
    echo "setup-runner: the $role $name has a different key pinned (${pinned//$'\n'/ }) than $fp; refusing to overwrite it. Find out why the key changed; only then run again with --replace-pin" >&2
    exit 1
  fi
  if [ $DRY -eq 1 ]; then
    say "would read $name's host keys with ssh-keyscan and pin the one whose fingerprint is $fp (refusing when none is)"
    return 0
  fi
  while IFS= read -r line; do
    [ -z "$line" ] || [ "${line:0:1}" = "#" ] && continue
    lfp=$(ssh-keygen -lf - <<<"$line" 2>/dev/null | awk '{print $2}')
    offered+="$lfp "
    [ "$lfp" = "$fp" ] && match=$line
  done < <(ssh-keyscan -T 5 -p "$port" "$host" 2>/dev/null || true)
  if [ -z "$offered" ]; then
    echo "setup-runner: cannot read the host key of the $role $name (ssh-keyscan got no answer); is it up, and is port $port open?" >&2
    exit 1
  fi
  if [ -z "$match" ]; then
    echo "setup-runner: the $role $name offers ${offered% } but not $fp; not pinned. Check that you read the fingerprint of this machine, and that nothing else answers on its address" >&2
    exit 1
  fi
  if [ -n "$pinned" ]; then ssh-keygen -R "$name" -f "$kh" >/dev/null 2>&1; say "removed the old pin (${pinned//$'\n'/ })"; fi
  (umask 022 && printf '%s\n' "$match" >>"$kh")
  say "pinned: $match"
}
# What the tree config then says (the doctor checks it with the same key and pin).
tell_config() {
  if [ "$1" = target ]; then
    say "in the tree's config: boot: {target: ssh, ssh: {host: $2, port: $3, user: $TARGET_USER, identityFile: $KEY, knownHostsFile: $KNOWN}}"
  else
    say "in the tree's config: bench: {topologies: [..., remote], remote: {host: $2, port: $3, identityFile: $KEY, knownHostsFile: $KNOWN, dataAddr: <the peer's address on the data network>}}"
  fi
}
if [ -n "$TARGET" ]; then pin "ssh target" "$TARGET_HOST" "$TARGET_PORT" "$TARGET_FP"; tell_config target "$TARGET_HOST" "$TARGET_PORT"; fi
if [ -n "$PEER" ]; then pin "bench peer" "$PEER_HOST" "$PEER_PORT" "$PEER_FP"; tell_config peer "$PEER_HOST" "$PEER_PORT"; fi

# 7. The units: the runner, and (with a target) the restore-on-boot unit that returns it to its default kernel.
install_file() { # source-text destination mode
  local text=$1 dst=$2 mode=$3
  if [ -f "$dst" ] && [ "$(cat "$dst")" = "$text" ]; then say "$dst: unchanged"; return 0; fi
  if [ $DRY -eq 1 ]; then say "would write $dst"; return 0; fi
  local tmp
  tmp=$(mktemp "$dst.XXXXXX")
  printf '%s\n' "$text" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dst"
  say "wrote $dst"
}
step "systemd units in $(R $UNITS)"
[ -d "$(R $UNITS)" ] || act install -d -m 0755 "$(R $UNITS)"
units=("patchbench-runner@.service")
install_file "$(sed "s#/opt/patchbench#$APP_DIR#g" "$HERE/patchbench-runner@.service")" "$(R $UNITS)/patchbench-runner@.service" 0644
if [ -n "$TARGET" ]; then
  install_file "$(sed "s#/opt/patchbench#$APP_DIR#g" "$HERE/patchbench-target-restore.service")" "$(R $UNITS)/patchbench-target-restore.service" 0644
  install_file "$(printf '%s\n' "# Written by deploy/setup-runner.sh: the ssh boot target patchbench-target-restore.service returns to its default kernel at boot." \
    "PATCHBENCH_TARGET_HOST=$TARGET_HOST" "PATCHBENCH_TARGET_PORT=$TARGET_PORT" "PATCHBENCH_TARGET_USER=$TARGET_USER" \
    "PATCHBENCH_TARGET_KEY=$KEY" "PATCHBENCH_TARGET_KNOWN_HOSTS=$KNOWN")" "$(R $ETC)/target.env" 0644
  units+=("patchbench-target-restore.service")
fi

step "enable patchbench-runner@$POOL${TARGET:+ and patchbench-target-restore}"
enable=("patchbench-runner@$POOL.service")
[ -n "$TARGET" ] && enable+=("patchbench-target-restore.service")
if ! command -v systemctl >/dev/null 2>&1; then
  say "skipped: systemctl is not available here; on the runner box run: systemctl enable ${enable[*]}"
elif [ "$ROOT" != "" ] && [ "$ROOT" != "/" ]; then
  # Offline: symlinks under ROOT only, nothing on this machine's systemd.
  act systemctl --root="$ROOT" --quiet enable "${enable[@]}"
elif [ ! -d /run/systemd/system ]; then
  say "skipped: systemd is not running on this machine; when it is, run: systemctl enable ${enable[*]}"
else
  act systemctl daemon-reload
  act systemctl enable "${enable[@]}"
  say "start the runner once REDIS_URL is set in $ETC/runner.env: systemctl start patchbench-runner@$POOL"
fi

# 8. The doctor approves the box, or says what to fix.
step "patchbench runner doctor"
if [ $DOCTOR -eq 0 ]; then say "skipped (--no-doctor)"; exit 0; fi
if [ $DRY -eq 1 ]; then
  say "would run: node $APP_DIR/bin/patchbench.js --config $(R $ETC) --data-dir $(R $DATA) runner doctor"
  exit 0
fi
set +e
CCACHE_DIR=$(R $CCACHE) node "$APP_DIR/bin/patchbench.js" --config "$(R $ETC)" --data-dir "$(R $DATA)" runner doctor
rc=$?
set -e
if [ $rc -eq 0 ]; then echo "setup-runner: done; runner doctor approves this box"; else echo "setup-runner: runner doctor found this box unfit: fix its FAIL lines and run this again" >&2; fi
exit $rc
