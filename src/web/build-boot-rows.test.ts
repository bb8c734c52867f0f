import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BuildData } from "../domain/results.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import type { StoredFlow } from "../workers/build-flow-report.ts";
import { PROJECT_ROOT } from "../../test/helpers/fixtures.ts";
import { buildRowsOf } from "./build-boot-rows.ts";

const flow = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
const build = flow.runs.find((r) => r.stage === "build") as Extract<TypedStageResult, { stage: "build" }>;
const withData = (f: (d: BuildData) => BuildData) => [{ ...build, data: f(build.data!) }];

test("series page rows of a build: its new warnings and its boots, each with a status a version can be compared on", () => {
  assert.deepEqual(buildRowsOf(flow.runs), {
    warnings: { status: "pass", summary: "no new warnings" },
    boot: { status: "pass", summary: "base on qemu: ok (2/2 probes); candidate on qemu: ok (2/2 probes)" },
  });
  const warned = buildRowsOf(withData((d) => ({ ...d, newWarnings: [{ file: "net/core/sock.c", line: 12, message: "unused variable", flag: "-Wunused-variable" }] })));
  assert.deepEqual(warned.warnings, { status: "warn", summary: "1 new warning(s): net/core/sock.c:12" });
  const panicked = buildRowsOf(withData((d) => ({ ...d, boots: d.boots.map((b) => (b.kernel === "candidate" ? { ...b, outcome: "panic" as const, reason: "Kernel panic - not syncing" } : b)) })));
  assert.deepEqual(panicked.boot, { status: "fail", summary: "base on qemu: ok (2/2 probes); candidate on qemu: panic (Kernel panic - not syncing)" });
  const baseDown = buildRowsOf(withData((d) => ({ ...d, boots: d.boots.map((b) => ({ ...b, outcome: "timeout" as const, reason: "no probe in 300 s" })) })));
  assert.equal(baseDown.boot?.status, "error", "no kernel came up: not the series' fault");
  assert.deepEqual(buildRowsOf(flow.runs.filter((r) => r.stage !== "build")), { warnings: null, boot: null });
});

test("series page boot row judges probes as the build stage does: the series breaking a probe is its failure, a probe broken on both kernels is not", () => {
  const failProbe = (kernels: string[]) =>
    withData((d) => ({
      ...d,
      boots: d.boots.map((b) =>
        kernels.includes(b.kernel) ? { ...b, probes: b.probes.map((p) => (p.name === "so-busy-poll-setsockopt" ? { ...p, status: "fail" as const } : p)) } : b,
      ),
    }));
  assert.deepEqual(buildRowsOf(failProbe(["candidate"])).boot, { status: "fail", summary: "base on qemu: ok (2/2 probes); candidate on qemu: ok (1/2 probes)" });
  assert.equal(buildRowsOf(failProbe(["base", "candidate"])).boot?.status, "warn", "broken upstream on both kernels: the base's warning, not the series' failure");
  assert.equal(buildRowsOf(failProbe(["base"])).boot?.status, "warn");
});
