#!/bin/sh
# PID 1 of a patchbench guest: the runner's own root file system is mounted
# read-only over virtio-9p; give the guest the writable and virtual file
# systems its tools need, then hand over to the agent, which runs the
# runner's commands and answers over a virtio-serial port. Nothing from a
# series runs here before the agent asks for it.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C LC_ALL=C PYTHONDONTWRITEBYTECODE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for d in /tmp /run /var/tmp /var/lib/patchbench-guest; do
  [ -d "$d" ] && mount -t tmpfs -o mode=1777 tmpfs "$d"
done
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up
# glibc's getaddrinfo(AI_ADDRCONFIG) ignores loopback addresses, so a guest with
# only lo cannot resolve even "127.0.0.1" for netperf: give it one address of
# the benchmarking range (RFC 2544) on a veth pair that carries no traffic.
ip link add pbguest0 type veth peer name pbguest1
ip addr add 198.18.0.1/32 dev pbguest0
ip link set pbguest1 up
ip link set pbguest0 up
# A guest standing in for a bare-metal ssh target (pb.sshd on the command line, which kexec
# --reuse-cmdline hands to every kernel it starts): the share holds sshd's host key, config and
# authorized keys; QEMU's user network forwards a loopback port of the runner to port 22.
case " $(cat /proc/cmdline) " in
*" pb.sshd "*)
  mkdir -p /run/pb-share /run/sshd /run/pb-ssh
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 pbshare /run/pb-share
  cp /run/pb-share/ssh/* /run/pb-ssh/ && chmod 600 /run/pb-ssh/*
  ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0
  ip route add default via 10.0.2.2
  /usr/sbin/sshd -f /run/pb-ssh/sshd_config -E /run/pb-ssh/sshd.log
  ;;
esac
echo "PATCHBENCH-KERNEL $(cat /proc/sys/kernel/osrelease) $(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
exec python3 -I -S "$(dirname "$0")/guest-agent.py"
