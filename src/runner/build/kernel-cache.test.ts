import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildSchema } from "../../config/schema.ts";
import type { KernelBuild } from "../../domain/results.ts";
import { packText, unpackText } from "../../domain/packed-text.ts";
import { keepBuiltKernel, kernelCacheKey, takeCachedKernel } from "./kernel-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "pb-kcache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const inputs = { commit: "a".repeat(40), config: buildSchema.parse({}), hasSelftestsConfig: true, compiler: "12.2.0" };

test("kernelCacheKey: the same inputs, the same key; commit, config, extras, fragments and compiler each change it", () => {
  const k = kernelCacheKey(inputs);
  assert.equal(kernelCacheKey({ ...inputs }), k);
  const others = [
    { ...inputs, commit: "b".repeat(40) },
    { ...inputs, compiler: "13.1.0" },
    { ...inputs, hasSelftestsConfig: false },
    { ...inputs, config: buildSchema.parse({ baseConfig: "tinyconfig" }) },
    { ...inputs, config: buildSchema.parse({ extras: ["CONFIG_NET_RX_BUSY_POLL=y"] }) },
    { ...inputs, config: buildSchema.parse({ guestConfig: false }) },
  ].map(kernelCacheKey);
  assert.equal(new Set([k, ...others]).size, 7);
  // What does not change the image does not change the key.
  assert.equal(kernelCacheKey({ ...inputs, config: buildSchema.parse({ jobs: 7, timeoutSec: 60, compareBase: false }) }), k);
});

const built = (artifactsDir: string): KernelBuild => {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(join(artifactsDir, "bzImage-base"), "IMAGE");
  writeFileSync(join(artifactsDir, "build-base.log"), "$ make -j2 bzImage\nnet.c:3:6: warning: unused\n");
  return {
    commit: inputs.commit,
    ok: true,
    durationMs: 612_000,
    warnings: [{ file: "net.c", line: 3, message: "unused", flag: null }],
    logTail: "tail",
    logPath: join(artifactsDir, "build-base.log"),
    image: join(artifactsDir, "bzImage-base"),
    ccache: true,
    dotConfig: packText("CONFIG_NET=y\n"),
  };
};

test("a kept kernel comes back into another flow's folder with its warnings, log and where it was built", () => {
  const root = join(dir, "a");
  const key = kernelCacheKey(inputs);
  assert.equal(takeCachedKernel({ artifactsRoot: root, key, artifactsDir: join(root, "f2"), label: "base" }), null);
  keepBuiltKernel({ artifactsRoot: root, key, flowId: "f1", build: built(join(root, "f1")) });
  const k = takeCachedKernel({ artifactsRoot: root, key, artifactsDir: join(root, "f2"), label: "base" });
  assert.ok(k);
  assert.equal(k.image, join(root, "f2", "bzImage-base"));
  assert.equal(readFileSync(k.image!, "utf8"), "IMAGE");
  assert.deepEqual(k.warnings, [{ file: "net.c", line: 3, message: "unused", flag: null }]);
  assert.equal(k.reused?.flowId, "f1");
  assert.equal(k.reused?.buildMs, 612_000);
  assert.equal(unpackText(k.dotConfig!), "CONFIG_NET=y\n");
  assert.match(readFileSync(k.logPath, "utf8"), /^kernel reused: [0-9a-f]{24} \(built for flow f1 at .*\n\$ make -j2 bzImage/);
  // A reused kernel is not kept again, nor is a failed build.
  keepBuiltKernel({ artifactsRoot: root, key: "other", flowId: "f2", build: k });
  keepBuiltKernel({ artifactsRoot: root, key: "failed", flowId: "f2", build: { ...built(join(root, "f3")), ok: false } });
  assert.equal(existsSync(join(root, "kernel-other")), false);
  assert.equal(existsSync(join(root, "kernel-failed")), false);
});

test("a kept folder that does not read back whole is removed and the kernel built again", () => {
  const root = join(dir, "b");
  keepBuiltKernel({ artifactsRoot: root, key: "k1", flowId: "f1", build: built(join(root, "f1")) });
  writeFileSync(join(root, "kernel-k1", "build.json"), "{ not json");
  assert.equal(takeCachedKernel({ artifactsRoot: root, key: "k1", artifactsDir: join(root, "f2"), label: "candidate" }), null);
  assert.equal(existsSync(join(root, "kernel-k1")), false);
  keepBuiltKernel({ artifactsRoot: root, key: "k2", flowId: "f1", build: built(join(root, "f1")) });
  rmSync(join(root, "kernel-k2", "bzImage"));
  assert.equal(takeCachedKernel({ artifactsRoot: root, key: "k2", artifactsDir: join(root, "f2"), label: "candidate" }), null);
  assert.equal(existsSync(join(root, "kernel-k2")), false);
});
