import type { WebConfig } from "../config/web-schema.ts";

/**
 * A run's dashboard page as readers reach it, for the links reports carry; null when the dashboard
 * is off or web.publicUrl is unset (its listening address is no address for readers elsewhere).
 */
export function runPageUrl(web: WebConfig, flowId: string): string | null {
  return web.enabled && web.publicUrl ? `${web.publicUrl.replace(/\/+$/, "")}/runs/${encodeURIComponent(flowId)}` : null;
}
