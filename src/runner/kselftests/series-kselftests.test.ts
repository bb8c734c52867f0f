import assert from "node:assert/strict";
import { test } from "node:test";
import { kselftestList, seriesKselftests } from "./series-kselftests.ts";

test("the series' test programs: added or changed executables under tools/testing/selftests", () => {
  const raw = [
    ":000000 100755 0000000 1234abc A", "tools/testing/selftests/net/pb_smoke.sh",
    ":100644 100644 1111111 2222222 M", "tools/testing/selftests/net/lib.sh",
    ":100755 100755 1111111 2222222 M", "tools/testing/selftests/bpf/test_xdp.sh",
    ":100755 000000 1111111 0000000 D", "tools/testing/selftests/net/gone.sh",
    ":000000 100755 0000000 1234abc A", "tools/testing/selftests/net/with space.sh",
    "",
  ].join("\0");
  assert.deepEqual(seriesKselftests(raw), ["net/pb_smoke.sh", "bpf/test_xdp.sh", "net/with space.sh"]);
  assert.deepEqual(seriesKselftests(""), []);
});

test("configured tests first, then the series' own up to the cap; the rest are named as not run", () => {
  assert.deepEqual(kselftestList(["net/a.sh"], ["net/a.sh", "net/b.sh", "net/c.sh"], 1), { run: ["net/a.sh", "net/b.sh"], notRun: ["net/c.sh"] });
  assert.deepEqual(kselftestList([], [], 10), { run: [], notRun: [] });
});
