import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { queueStateSchema } from "../web/web-view-schemas.ts";
import { createQueueStateReader } from "./read-queue-state.ts";

test("queue state with Redis away: said so on the page, not thrown", async () => {
  // A port that was just free and is closed again: nothing answers there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const reader = createQueueStateReader({ redis: { host: "127.0.0.1", port, retryStrategy: () => null }, prefix: "pb", pools: ["local"] });
  try {
    const state = queueStateSchema.parse(await reader.read());
    assert.equal(state.available, false);
    assert.match(state.reason ?? "", /^Redis did not answer: /);
  } finally {
    await reader.close();
  }
});
