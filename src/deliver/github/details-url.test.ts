import assert from "node:assert/strict";
import { test } from "node:test";
import { globalSchema, type Config } from "../../config/schema.ts";
import { detailsUrlOf } from "./deliver-github.ts";

const config = (global: Record<string, unknown>): Config =>
  ({ configDir: null, global: globalSchema.parse(global), trees: [], secrets: { smtpPassword: null }, paths: {} }) as unknown as Config;

test("details link: github.detailsUrl first, else the run's dashboard page under web.publicUrl, else none", () => {
  assert.equal(detailsUrlOf(config({}), "flow-1"), null, "127.0.0.1 is not where GitHub's readers are: no link without publicUrl");
  assert.equal(detailsUrlOf(config({ web: { publicUrl: "https://pb.example.org/" } }), "flow-1"), "https://pb.example.org/runs/flow-1");
  assert.equal(detailsUrlOf(config({ web: { publicUrl: "https://pb.example.org/dash" } }), "flow-1"), "https://pb.example.org/dash/runs/flow-1");
  assert.equal(detailsUrlOf(config({ web: { enabled: false, publicUrl: "https://pb.example.org" } }), "flow-1"), null);
  assert.equal(
    detailsUrlOf(config({ web: { publicUrl: "https://pb.example.org" }, github: { detailsUrl: "https://ci.example.org/{flow}" } }), "flow-1"),
    "https://ci.example.org/flow-1",
  );
});
