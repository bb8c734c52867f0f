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
    const first = await page.goto(`${web.url}/series`);
    assert.equal(await page.locator("table.series-list tbody tr").count(), 4);
    // Strict: nothing from anywhere by default, no script at all, no framing, forms only to this dashboard.
    const csp = (await first?.allHeaders())?.["content-security-policy"] ?? "";
    for (const d of ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]) assert.ok(csp.includes(d), `${d} in ${csp}`);
    assert.doesNotMatch(csp, /script-src|unsafe-inline|unsafe-eval/);
    await page.screenshot({ path: join(SHOTS, "series-list.png"), fullPage: true });
    // The series with two versions, by its link: both versions' cells side by side and what changed since v1.
    await page.locator(`table.series-list a[href="/series/${store.bench.v2}"]`).first().click();
    await page.waitForURL(`**/series/${store.bench.v2}`);
    const versions = page.locator("table.versions");
    assert.deepEqual(await versions.locator("thead th").allInnerTexts().then((t) => t.slice(1).map((x) => x.split("\n")[0])), ["v1", "v2"]);
    const slow = versions.locator("tbody tr", { has: page.locator(`th:text-is("${store.bench.slowCell}")`) });
    assert.deepEqual(
      (await slow.locator("td").allInnerTexts()).map((t) => t.replace(/ \[.*\]/, "")),
      ["-0.9% no change", "-20.7% regression"],
      "the slowed cell in both versions",
    );
    assert.equal(await versions.locator("tbody td.num").count(), 2 * store.bench.cells, "every cell of both versions");
    assert.equal(await page.locator("h3").filter({ hasText: "Since v1" }).count(), 1);
    assert.match((await page.locator("ul.changes li").first().textContent()) ?? "", /^v2: -20\.\d% regression on TCP_RR loopback 1 B \(v1: -0\.9% no change\)$/);
    await page.screenshot({ path: join(SHOTS, "series-two-versions.png"), fullPage: true });
    await page.goto(`${web.url}/series`);
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
    // The build log and the QEMU console, opened from their links as a reader would.
    assert.equal(await page.locator("ul.logs li").count(), 4);
    const [consoleFile] = await Promise.all([page.waitForEvent("download"), page.locator('ul.logs a[href$="/logs/console-candidate.log"][download]').click()]);
    const consolePath = join(SHOTS, consoleFile.suggestedFilename());
    await consoleFile.saveAs(consolePath);
    assert.match(readFileSync(consolePath, "utf8"), /^# candidate kernel on qemu: ok[\s\S]*Unpacking initramfs/);
    await page.screenshot({ path: join(SHOTS, "run-page.png"), fullPage: true });
    const logPage = await browser.newPage();
    await logPage.goto(`${web.url}/api/runs/${store.bench.flowId}/logs/build-candidate.log`);
    assert.match((await logPage.locator("body").textContent()) ?? "", /LD {6}vmlinux/);
    await logPage.close();
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
    // The policy is enforced, not only sent: markup that would run if escaping ever failed is refused by the browser.
    // (A string: it runs in the page, where the test's own types have no DOM.)
    await page.evaluate(`{
      const d = document.createElement("div");
      d.innerHTML = \`<img src="data:," onerror="document.title='ran'"><script>document.title='ran'</script>\`;
      document.body.append(d);
      const s = document.createElement("script");
      s.textContent = "document.title='ran'";
      document.body.append(s);
    }`);
    await page.waitForTimeout(200);
    assert.notEqual(await page.title(), "ran");
    assert.ok(errors.some((e) => /Content Security Policy/.test(e)), `the browser reports the refusal: ${errors.join(" | ")}`);
  });

  test("a series whose subject and author carry script: shown as text, nothing runs", async () => {
    const page = await browser.newPage();
    let dialog = false;
    page.on("dialog", async (d) => {
      dialog = true;
      await d.dismiss();
    });
    for (const path of ["/series", `/series?q=${encodeURIComponent("evil@example.org")}`, `/series/${store.hostile.id}`]) {
      await page.goto(`${web.url}${path}`);
      assert.notEqual(await page.title(), "pwned", path);
      assert.equal(await page.locator("main script, main img, main iframe, main svg[onload]").count(), 0, path);
    }
    assert.match((await page.locator("h1").textContent()) ?? "", /^<script>document\.title="pwned"<\/script><img/);
    assert.match((await page.locator("main p").first().textContent()) ?? "", /^"><svg onload="document\.title='pwned'"> <evil@example\.org>/, "the author shown as its text");
    await page.screenshot({ path: join(SHOTS, "hostile-series.png"), fullPage: true });
    assert.equal(dialog, false);
  });
});
