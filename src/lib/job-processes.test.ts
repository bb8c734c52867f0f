import assert from "node:assert/strict";
import { test } from "node:test";
import { membersOf } from "./job-processes.ts";
import { parseProcStat } from "./process-table.ts";

test("parseProcStat: group and start time after a comm with spaces and parens", () => {
  const line = "4242 (we(ird) name) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
  assert.deepEqual(parseProcStat(line), { pid: 4242, pgrp: 4240, startTime: 987654 });
  assert.equal(parseProcStat("garbage"), null);
});

test("membersOf: members of a recorded group; a reused leader pid (other start time) is left alone", () => {
  const table = [
    { pid: 100, pgrp: 100, startTime: 5 },
    { pid: 101, pgrp: 100, startTime: 7 },
    { pid: 200, pgrp: 200, startTime: 99 },
    { pid: 201, pgrp: 200, startTime: 100 },
    { pid: 301, pgrp: 300, startTime: 50 },
    { pid: 400, pgrp: 1, startTime: 1 },
  ];
  assert.deepEqual(membersOf([{ pgid: 100, startTime: 5 }], table), [100, 101], "leader and member");
  assert.deepEqual(membersOf([{ pgid: 200, startTime: 10 }], table), [], "pid 200 is now someone else's group");
  assert.deepEqual(membersOf([{ pgid: 300, startTime: 40 }], table), [301], "leader gone, a member lives on");
  assert.deepEqual(membersOf([{ pgid: 500, startTime: 40 }], table), [], "nothing left");
});
