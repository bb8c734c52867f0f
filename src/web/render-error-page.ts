import { html } from "./html.ts";
import { renderLayout } from "./render-layout.ts";

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  413: "Form too large",
  414: "Request target too long",
  421: "Wrong host",
  500: "Server error",
  503: "Unavailable",
};

/** The page for a request that cannot be served, with the reason. */
export function renderErrorPage(status: number, message: string): string {
  const title = TITLES[status] ?? `Error ${status}`;
  return renderLayout(title, html`<h1>${title}</h1>
<p class="error">${message}</p>`);
}
