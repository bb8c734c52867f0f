import assert from "node:assert/strict";
import { test } from "node:test";
import { missingOptions } from "./plan-kernel-config.ts";

test("missingOptions: requested options the final .config lacks, with what it got", () => {
  const dot = "CONFIG_NET=y\nCONFIG_BPF=y\n# CONFIG_BPF_JIT is not set\nCONFIG_HZ=250\nCONFIG_VETH=y\n";
  assert.deepEqual(missingOptions(["CONFIG_NET=y\nCONFIG_BPF_JIT=y\n# comment\nCONFIG_DEBUG=n\nCONFIG_HZ=1000\nCONFIG_VETH=m\n"], dot), [
    "CONFIG_BPF_JIT=y",
    "CONFIG_HZ=1000 (got 250)",
  ]);
});
