import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "./logger.ts";
import { createPatchworkClient } from "./patchwork-client.ts";

test("the API token goes to the configured patchwork only: a download or next page elsewhere is refused before any request", async () => {
  const asked: string[] = [];
  const client = createPatchworkClient({
    url: "https://patchwork.example.org/",
    token: "s3cret",
    log: silentLogger(),
    fetch: async (url) => {
      asked.push(String(url));
      return new Response("[]", { status: 200, headers: { link: '<https://evil.example/api/1.3/events/?page=2>; rel="next"' } });
    },
  });
  await assert.rejects(client.download("https://evil.example/series/1/mbox/"), /https:\/\/evil\.example is not the patchwork at https:\/\/patchwork\.example\.org; not fetched/);
  await assert.rejects(client.download("http://patchwork.example.org/series/1/mbox/"), /not the patchwork/, "another scheme is another origin");
  await assert.rejects(client.list("events/"), /not the patchwork/);
  assert.deepEqual(asked, ["https://patchwork.example.org/api/1.3/events/?per_page=100"]);
});
