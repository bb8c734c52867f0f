import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkGolden } from "../../test/integration/mail-fixture-results.ts";
import { packText } from "../domain/packed-text.ts";
import type { BuildData } from "../domain/results.ts";
import { splitMbox } from "../ingest/mail/split-mbox.ts";
import { PROJECT_ROOT } from "../lib/project-root.ts";
import type { StoredFlow } from "../workers/build-flow-report.ts";
import { type BundleInput, planReproBundle } from "./plan-repro-bundle.ts";
import { tipSeries } from "../domain/tree-tip.ts";

/** A real kernel A/B flow (recorded from the kernel tier) and the mails it was made from. */
const data = join(PROJECT_ROOT, "test", "data", "kernel-ab");
const flow = JSON.parse(readFileSync(join(data, "feature-flow.json"), "utf8")) as StoredFlow;
const raw = new Map(
  splitMbox(readFileSync(join(data, "feature.mbox"))).messages.map((m) => [/^Message-Id: <([^>]+)>/im.exec(Buffer.from(m.raw).toString("latin1"))![1]!, m.raw] as const),
);

const input = (over: Partial<BundleInput> = {}): BundleInput => ({
  flow: { id: flow.flowId, tree: "bpf-next", base: null, status: "done", createdAt: "2026-12-06T17:58:00.000Z", finishedAt: "2026-12-06T18:20:00.000Z" },
  series: flow.series,
  rawMails: raw,
  results: flow.runs,
  resultErrors: [],
  samples: flow.samples,
  tool: { name: "patchbench", version: "0.1.0" },
  createdAt: "2026-12-07T17:00:00.000Z",
  ...over,
});

test("a recorded kernel A/B flow's bundle: the series re-splits to the same mails, every run is there, and what it lacks is said (golden README and manifest)", () => {
  const b = planReproBundle(input());
  const files = new Map(b.files.map((f) => [f.path, f.content]));
  assert.deepEqual([...files.keys()], ["README.txt", "manifest.json", "cover.eml", "series.mbox", "results.json", "commands.txt", "machine-profile.json", "samples.csv", "samples.json"]);
  const back = splitMbox(files.get("series.mbox") as Uint8Array).messages.map((m) => Buffer.from(m.raw));
  const cover = flow.series.cover!.messageId;
  assert.deepEqual(back, flow.series.patches.map((p) => Buffer.from(raw.get(p.messageId)!)));
  assert.deepEqual(Buffer.from(files.get("cover.eml") as Uint8Array), Buffer.from(raw.get(cover)!));
  const samples = JSON.parse(files.get("samples.json") as string) as { values: { THROUGHPUT: string } }[];
  assert.equal(samples.length, flow.samples.length);
  assert.equal(samples[0]?.values.THROUGHPUT, JSON.parse(flow.samples[0]!.values_json).THROUGHPUT);
  assert.equal((files.get("samples.csv") as string).trimEnd().split("\r\n").length, flow.samples.length + 1);
  // Recorded before builds kept their .config: said, not silently missing.
  assert.deepEqual(b.gaps, [
    "the base kernel's .config was not recorded (built before patchbench kept it)",
    "the candidate kernel's .config was not recorded (built before patchbench kept it)",
  ]);
  checkGolden("bundle-readme.txt", files.get("README.txt") as string);
  checkGolden("bundle-manifest.json", files.get("manifest.json") as string);
});

test("a build that kept its .config gives the exact file with its digest in the manifest; a damaged one is a gap, and a missing mail is named", () => {
  const config = "CONFIG_NET=y\n# CONFIG_KVM is not set\n";
  const runs = flow.runs.map((r) => {
    if (r.stage !== "build") return r;
    const d = r.data as BuildData;
    const damaged = { ...packText("x"), sha256: "0".repeat(64) };
    return { ...r, data: { ...d, base: { ...d.base!, dotConfig: damaged }, candidate: { ...d.candidate!, dotConfig: packText(config) } } };
  });
  const cover = flow.series.cover!.messageId;
  const b = planReproBundle(input({ results: runs, rawMails: new Map([...raw].filter(([id]) => id !== cover)) }));
  const files = new Map(b.files.map((f) => [f.path, f.content]));
  assert.equal(files.get("kernel-candidate.config"), config);
  assert.equal(files.has("kernel-base.config"), false);
  const manifest = JSON.parse(files.get("manifest.json") as string) as { kernels: { candidate: { configSha256: string } } };
  assert.equal(manifest.kernels.candidate.configSha256, packText(config).sha256);
  assert.match(b.gaps.join("\n"), /the base kernel's stored \.config is damaged: packed text does not match/);
  assert.match(b.gaps.join("\n"), new RegExp(`1 mail\\(s\\) of the series are not in the store: ${cover.replace(/\./g, "\\.")}`));
  assert.match(files.get("README.txt") as string, /Not in this bundle:\n(?: {2}- .*\n)* {2}- the base kernel.s stored \.config is damaged/);
});

test("a tree tip's bundle: no patches to apply; the steps check out the previous measured tip and the tip", () => {
  const tip = tipSeries({ tree: "bpf-next", base: "a".repeat(40), head: "b".repeat(40), subject: "Merge branch 'x'", seenAt: "2026-12-07T06:00:00.000Z" });
  const apply = flow.runs.find((r) => r.stage === "apply")!;
  const runs = flow.runs.map((r) => (r === apply ? { ...r, data: { ...(r.data as object), baseCommit: "a".repeat(40), head: "b".repeat(40), baseRule: "given" } } : r)) as typeof flow.runs;
  const b = planReproBundle(input({ series: tip, rawMails: new Map(), results: runs }));
  const readme = b.files.find((f) => f.path === "README.txt")!.content as string;
  assert.equal(b.files.some((f) => f.path === "series.mbox"), false);
  assert.match(readme, new RegExp(`git checkout ${"a".repeat(40)} {3}# the previous measured tip \\(base\\)\\n {2}git checkout ${"b".repeat(40)} {3}# the tip measured \\(candidate\\)`));
  assert.doesNotMatch(readme, /git am|patchbench review/);
});
