#!/usr/bin/env bash
# Reboots the ssh boot target into its default kernel and waits until it is
# back with a new boot id (patchbench-target-restore.service). The host key
# must match the pinned one: StrictHostKeyChecking=yes, never learned.
# Settings come from the environment (/etc/patchbench/target.env).
set -euo pipefail
# The commands below are split into words, never globbed.
set -f
: "${PATCHBENCH_TARGET_HOST:?set in /etc/patchbench/target.env}"
PORT=${PATCHBENCH_TARGET_PORT:-22}
USER_=${PATCHBENCH_TARGET_USER:-root}
KEY=${PATCHBENCH_TARGET_KEY:-/etc/patchbench/ssh/id_ed25519}
KNOWN=${PATCHBENCH_TARGET_KNOWN_HOSTS:-/etc/patchbench/ssh/known_hosts}
DEADLINE=${PATCHBENCH_TARGET_DEADLINE_SEC:-600}
POLL=${PATCHBENCH_TARGET_POLL_SEC:-5}
# As the tree's boot.ssh.restoreCommand and boot.ssh.bootIdCommand (words for the target's shell).
RESTORE=${PATCHBENCH_TARGET_RESTORE:-systemctl reboot}
BOOT_ID=${PATCHBENCH_TARGET_BOOT_ID:-cat /proc/sys/kernel/random/boot_id}
# The same options as the runner's (src/runner/bench/remote-peer.ts sshArgv).
ssh_t() {
  ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN" \
    -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o IdentitiesOnly=yes -o ConnectTimeout=10 \
    -i "$KEY" -p "$PORT" -l "$USER_" "$PATCHBENCH_TARGET_HOST" -- "$@"
}
who="ssh target $USER_@$PATCHBENCH_TARGET_HOST:$PORT"
# shellcheck disable=SC2086 # the commands are word lists, as in the tree config
if ! before=$(ssh_t $BOOT_ID); then
  echo "restore-target: $who does not answer (or its host key is not the pinned one); not restored" >&2
  exit 1
fi
echo "restore-target: $who runs $(ssh_t uname -r); returning it to its default kernel ($RESTORE)"
# The connection drops while the target reboots: any exit is expected here.
# shellcheck disable=SC2086
ssh_t $RESTORE || true
end=$(( $(date +%s) + DEADLINE ))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$POLL"
  # shellcheck disable=SC2086
  now=$(ssh_t $BOOT_ID 2>/dev/null || true)
  if [ -n "$now" ] && [ "$now" != "$before" ]; then
    echo "restore-target: $who is back on $(ssh_t uname -r) (boot id $before -> $now)"
    exit 0
  fi
done
echo "restore-target: $who did not come back within $DEADLINE s" >&2
exit 1
