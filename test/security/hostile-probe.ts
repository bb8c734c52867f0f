/**
 * A hostile program, written in Perl (always on a Debian runner), that
 * stands where patch-controlled code runs — a tree's checkpatch.pl, the
 * tree's Makefile, or QEMU itself (what a guest escape would get) — and
 * tries what an attacker would: read the runner's secrets, the store and
 * the data dir, talk to Redis, write outside its folder, reach the network,
 * leave a process behind. It reports each outcome as a `CODE: message`
 * finding; the suite judges them with the host-side facts.
 */
export interface ProbeTargets {
  /** The store file on the host (SQLite). */
  storePath: string;
  /** The data dir holding the store and the Redis socket. */
  dataDir: string;
  /** A real Redis listening on this unix socket. */
  redisSocket: string;
  /** A TCP listener on the host's 127.0.0.1. */
  port: number;
  /** Files the probe tries to create or overwrite; `WROTE` or `DENIED_WRITE` per path. */
  writes: readonly string[];
  /** When set, a detached child creates this file after `lateSec` seconds (outliving its parent?). */
  late?: { file: string; sec: number };
}

/**
 * `checkpatch`: print `WARNING:CODE: msg` lines and checkpatch's total line (the apply stage parses
 * them as findings); `lines`: print `PBPROBE:CODE: msg` as it goes (read from a log or console).
 */
export function hostileProbeScript(t: ProbeTargets, format: "checkpatch" | "lines"): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const emit =
    format === "checkpatch"
      ? `push @out, "WARNING:$code: $msg";`
      : `print "PBPROBE:$code: $msg\\n"; STDOUT->flush();`;
  return `#!/usr/bin/perl
use strict; use IO::Handle; use IO::Socket::INET; use IO::Socket::UNIX; use POSIX ();
my @out;
sub report { my ($code, $msg) = @_; $msg = "" unless defined $msg; $msg =~ s/[\\n\\0]/ /g; ${emit} }
for my $k (sort keys %ENV) { report("ENV", "$k=$ENV{$k}") }
for my $f ("/proc/1/environ", ${q(t.storePath)}) {
  if (open(my $h, "<", $f)) { local $/; my $c = <$h>; report("READ", "$f: " . substr($c, 0, 200)) } else { report("DENIED_READ", "$f: $!") }
}
if (opendir(my $d, ${q(t.dataDir)})) { report("LS_DATA", join(",", sort grep { !/^\\.\\.?$/ } readdir($d))) }
my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => ${q(t.redisSocket)});
if ($u) { print $u "PING\\r\\n"; my $a = <$u>; report("REDIS", defined $a ? $a : "") } else { report("DENIED_REDIS", "$!") }
for my $f (${t.writes.map(q).join(", ")}) {
  if (open(my $h, ">", $f)) { print $h "x"; close $h; report("WROTE", $f) } else { report("DENIED_WRITE", "$f: $!") }
}
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => ${t.port}, Timeout => 3);
if ($s) { print $s "leak\\n"; report("CONNECTED", "") } else { report("DENIED_NET", "$@") }
report("UID", "$< $>");
${
  t.late
    ? `my $pid = fork();
if (defined $pid && $pid == 0) { POSIX::setsid(); close STDOUT; close STDERR; sleep ${t.late.sec}; if (open(my $h, ">", ${q(t.late.file)})) { print $h "late"; close $h } POSIX::_exit(0) }
report("FORKED", defined $pid ? $pid : "no");`
    : ""
}
${format === "checkpatch" ? `{ local $/; my $mail = <STDIN>; }\nprint "$_\\n" for @out;\nprint "total: 0 errors, " . scalar(@out) . " warnings, 1 lines checked\\n";` : ""}
`;
}

/** Findings by code, from `PBPROBE:CODE: msg` lines anywhere in `text` (a build log, a console). */
export function readProbeLines(text: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const m of text.matchAll(/^PBPROBE:([A-Z_]+): ?(.*)$/gm)) seen.set(m[1]!, [...(seen.get(m[1]!) ?? []), m[2]!]);
  return seen;
}
