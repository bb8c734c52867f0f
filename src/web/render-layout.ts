import { createHash } from "node:crypto";
import { type Html, html, raw } from "./html.ts";

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem;color:#222}
nav{padding:.5rem 0;border-bottom:1px solid #ccc;margin-bottom:1rem}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass,.improvement{color:#176f2c}.fail,.regression{color:#b3261e}.warn,.noisy{color:#8a5a00}.error{color:#6b3fa0}.skip,.pending,.queued,.inconclusive{color:#666}
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end}svg.chart{max-width:100%;height:auto}
.v0{color:#1f5fa8}.v1{color:#c25e00}figure.runs{margin:.5rem 0}
@media print{nav,form.filters{display:none}}`;

/** Only this stylesheet and nothing else may run or load: no script at all. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${createHash("sha256").update(CSS).digest("base64")}'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

/** A whole page: the shared head and navigation around `body` (the empty icon keeps browsers from asking for /favicon.ico). */
export function renderLayout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title} · patchbench</title>
<style>${raw(CSS)}</style>
</head>
<body>
<nav><a href="/">patchbench</a><a href="/series">series</a><a href="/trees">trees</a><a href="/queue">queue</a><a href="/quarantine">quarantine</a><a href="/api/series">API</a></nav>
<main>
${body}
</main>
</body>
</html>
`.text;
}

/** A status or verdict word, coloured by what it is. */
export function statusWord(word: string): Html {
  return html`<span class="${word.replace(/[^a-z]/g, "")}">${word}</span>`;
}
