import type { AdminClient } from "../admin/admin-client.js";
import { isModhostError, messageOf } from "../errors/modhost-error.js";

/** Backoff between attempts to reach a server again: doubling from `firstMs` up to `maxMs`. */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** Default backoff: 250 ms, 500 ms, 1 s, 2 s, then every 4 s. */
export const DEFAULT_BACKOFF: Backoff = { firstMs: 250, maxMs: 4000 };

/**
 * Connects again after the server went away (restarted, or the network dropped): tries `connect`
 * with a doubling delay until it succeeds or `stopped` resolves (Ctrl-C), telling `note` what it
 * does (the first failure, then every fifth). Only "cannot reach" (E_ADMIN_UNAVAILABLE) is
 * retried: a refused token or origin is rethrown, since waiting will not fix it. Resolves with the
 * new client, or undefined when stopped.
 */
export async function reconnect(connect: () => Promise<AdminClient>, stopped: Promise<unknown>, note: (message: string) => void, backoff: Backoff = DEFAULT_BACKOFF): Promise<AdminClient | undefined> {
  let isStopped = false;
  void stopped.then(() => (isStopped = true));
  let delay = backoff.firstMs;
  for (let attempt = 1; ; attempt++) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, delay))), stopped]);
    clearTimeout(timer);
    if (isStopped) return undefined;
    try {
      const client = await connect();
      if (isStopped) {
        await client.close();
        return undefined;
      }
      return client;
    } catch (err) {
      if (!isModhostError(err, "E_ADMIN_UNAVAILABLE")) throw err;
      delay = Math.min(delay * 2, backoff.maxMs);
      if (attempt === 1 || attempt % 5 === 0) note(`still cannot reach the server (attempt ${attempt}: ${messageOf(err)}); retrying every ${Math.round(delay / 100) / 10} s at most (Ctrl-C to stop)`);
    }
  }
}

/** What to tell the user when a connection closed: why, and that we reconnect. */
export function describeClose(closed: { code: number; reason: string }): string {
  const why = closed.code === 1001 ? "the server shut down" : `the connection closed (${closed.code}${closed.reason ? `: ${closed.reason}` : ""})`;
  return `${why}; reconnecting with backoff (Ctrl-C to stop)`;
}
