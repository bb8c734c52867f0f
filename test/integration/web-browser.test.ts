import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { prepareWebStore, startWebCli, type WebStore } from "../helpers/web-store.ts";

/** Debian's chromium (scripts/setup-system.sh installs it); playwright-core brings no browser of its own. */
const CHROMIUM = process.env.PATCHBENCH_CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set PATCHBENCH_CHROMIUM)`;
/** Screenshots a reader can look at after a run (not compared: fonts differ between machines). */
const SHOTS = join(PROJECT_ROOT, "tmp", "web-browser");

describe("the dashboard in a real browser (chromium via playwright-core)", { skip }, () => {
  let redis: TestRedis;
  let dir: string;
  let store: WebStore;
  let web: Awaited<ReturnType<typeof startWebCli>>;
  let browser: import("playwright-core").Browser;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-web-browser-"));
    store = await prepareWebStore(dir, redis.url);
    web = await startWebCli(store.dataDir, redis.url);
    const { chromium } = await import("playwright-core");
    // --no-sandbox: the test may run as root in a container, where chromium's own sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await web?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("series list → run page by its link: the ratio chart is drawn with one point per cell beside its numbers, and each cell's runs in run order", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${web.url}/series`);
    assert.equal(await page.locator("table.series-list tbody tr").count(), 4);
    await page.screenshot({ path: join(SHOTS, "series-list.png"), fullPage: true });
    await page.locator(`a[href="/runs/${store.bench.flowId}"]`).click();
    await page.waitForURL(`**/runs/${store.bench.flowId}`);
    const chart = page.locator("svg.chart.ratios");
    assert.equal(await chart.count(), 1);
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 40, `chart laid out: ${JSON.stringify(box)}`);
    const points = page.locator("svg.chart.ratios circle.point");
    assert.equal(await points.count(), store.bench.cells);
    for (let i = 0; i < store.bench.cells; i++) {
      const p = await points.nth(i).boundingBox();
      assert.ok(p && p.width > 0 && p.x >= box.x && p.x <= box.x + box.width, `point ${i} inside the chart`);
    }
    assert.equal(await page.locator("table.cells tbody tr").count(), store.bench.cells);
    // And every run of those cells in run order, one chart per cell.
    assert.equal(await page.locator("svg.chart.runs").count(), store.bench.cells);
    assert.equal(await page.locator("svg.chart.runs circle.run").count(), store.bench.abSamples);
    // The machine and the commands beside the numbers, and the raw runs as a file.
    assert.ok((await page.locator("table.machine tr").count()) > 0);
    assert.match((await page.locator("pre.commands").textContent()) ?? "", /netperf /);
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator('a[href$="/samples.json"]').click()]);
    assert.match(download.suggestedFilename(), /^flow-[0-9a-f]+-samples\.json$/);
    const saved = join(SHOTS, download.suggestedFilename());
    await download.saveAs(saved);
    assert.equal((JSON.parse(readFileSync(saved, "utf8")) as { samples: unknown[] }).samples.length, store.bench.samples);
    await page.screenshot({ path: join(SHOTS, "run-page.png"), fullPage: true });
    // The list's filters as a reader uses them: a choice and the form's button.
    await page.goto(`${web.url}/series`);
    await page.locator('select[name="has-regression"]').selectOption("yes");
    await page.locator("form.filters button").click();
    await page.waitForURL("**/series?**has-regression=yes**");
    const expected = ((await (await fetch(`${web.url}/api/series?has-regression=yes`)).json()) as { total: number }).total;
    assert.equal(await page.locator("table.series-list tbody tr").count(), expected);
    await page.locator('select[name="has-regression"]').selectOption("no");
    await page.locator("form.filters button").click();
    await page.waitForURL("**/series?**has-regression=no**");
    assert.equal(await page.locator("table.series-list tbody tr").count(), 4 - expected, "yes and no split the list");
    assert.deepEqual(errors, [], "no script errors and no CSP violations (the stylesheet is allowed by its hash)");
  });

  test("a series whose subject and author carry script: shown as text, nothing runs", async () => {
    const page = await browser.newPage();
    let dialog = false;
    page.on("dialog", async (d) => {
      dialog = true;
      await d.dismiss();
    });
    for (const path of ["/series", `/series/${store.hostile.id}`]) {
      await page.goto(`${web.url}${path}`);
      assert.notEqual(await page.title(), "pwned", path);
      assert.equal(await page.locator("main script, main img, main iframe, main svg[onload]").count(), 0, path);
    }
    assert.match((await page.locator("h1").textContent()) ?? "", /^<script>document\.title="pwned"<\/script><img/);
    await page.screenshot({ path: join(SHOTS, "hostile-series.png"), fullPage: true });
    assert.equal(dialog, false);
  });
});
