/**
 * Pure: when to poll a source next. Healthy: every `intervalSec`. After
 * consecutive failures: doubled each time (interval × 2^failures) up to
 * `maxSec`, never sooner than a server's Retry-After. Polite to lore, and a
 * dead server is not hammered.
 */
export function nextPollDelayMs(input: {
  intervalSec: number;
  failures: number;
  retryAfterSec?: number | null;
  maxSec?: number;
}): number {
  const max = Math.max(input.intervalSec, input.maxSec ?? 3600);
  const exp = Math.min(input.failures, 20);
  const backoff = Math.min(input.intervalSec * 2 ** exp, max);
  const retryAfter = input.retryAfterSec ?? 0;
  return Math.round(Math.max(backoff, Math.min(retryAfter, 24 * 3600)) * 1000);
}
