import assert from "node:assert/strict";
import { test } from "node:test";
import { treeSchema } from "../config/schema.ts";
import { STAGES } from "../domain/results.ts";
import { checkReviewFlags } from "./review-flags.ts";

test("review flags: every bad one in one input error, in bench's one-line form", () => {
  assert.throws(
    () => checkReviewFlags({ stages: "apply,frob", topologies: "loopback,moon", tests: "TCP_RR,SCTP_RR", rounds: "x", timeout: "-1" }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "input");
      assert.equal(
        e.message,
        '5 problems: unknown stage "frob" (known: apply, build, selftests, bench); --timeout expects a whole number of seconds >= 1, got "-1"; ' +
          '--rounds expects a whole number >= 1, got "x"; unknown topology "moon" (known: loopback, container, container-bridge, remote); ' +
          'unknown test "SCTP_RR" (known: TCP_RR, TCP_CRR, TCP_STREAM, UDP_RR)',
      );
      return true;
    },
  );
  assert.throws(() => checkReviewFlags({ stages: " , " }), /--stages names no stage/);
});

test("review flags: good ones come back parsed", () => {
  assert.deepEqual(checkReviewFlags({ stages: "apply, bench", timeout: "120", topologies: "loopback", tests: "TCP_RR" }), { stages: ["apply", "bench"], timeoutMs: 120_000 });
  assert.deepEqual(checkReviewFlags({}), { stages: undefined, timeoutMs: 6 * 3600_000 });
});

test("the stage names checked are the config schema's", () => {
  assert.equal(treeSchema.safeParse({ name: "x", url: "y", stages: [...STAGES] }).success, true);
  assert.equal(treeSchema.safeParse({ name: "x", url: "y", stages: ["frob"] }).success, false);
});
