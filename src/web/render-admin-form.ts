import { type Html, html } from "./html.ts";

/**
 * One admin action as a plain form: the token is typed in each time and sent in the body,
 * never kept in a cookie, so another site's page cannot make the browser act with it.
 */
export function renderAdminForm(action: string, label: string): Html {
  return html`<form class="admin" method="post" action="${action}"><input type="password" name="token" required autocomplete="off" placeholder="admin token" aria-label="admin token"> <button type="submit">${label}</button></form>`;
}
