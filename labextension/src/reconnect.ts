/**
 * When and whether to reconnect: the backoff between attempts, and what a
 * failed REST call says about our access.
 */
import { statusOf } from './request';

/** Longest wait between two reconnections, ms. */
const MAX_DELAY = 30000;

/** Next reconnection delay: exponential, capped, with "equal jitter". */
export function backoffDelay(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY, 1000 * 2 ** Math.min(attempt, 5));
  return base / 2 + (random() * base) / 2;
}

/**
 * - `revoked`: 403, the server refuses us;
 * - `gone`: the hub answered for the server: 424 (not running) or 404 (no
 *   access: the hub revokes a stopped server's shares);
 * - `unreachable`: anything else (proxy error 502/503 while the hub catches
 *   up, no network): try again later.
 */
export type AccessCheck = 'ok' | 'revoked' | 'gone' | 'unreachable';

export function classifyFailure(err: unknown): AccessCheck {
  const status = statusOf(err);
  if (status === 403) {
    return 'revoked';
  }
  if (status === 404 || status === 424) {
    return 'gone';
  }
  return 'unreachable';
}
