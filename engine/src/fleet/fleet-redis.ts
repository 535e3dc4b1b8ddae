import { createClient } from "@redis/client";
import { ModhostError, messageOf } from "../errors/modhost-error.js";

/** The few things the fleet asks of a Redis connection. */
export interface FleetConnection {
  /** Sends one command; rejects with E_FLEET_UNAVAILABLE while Redis cannot be reached. */
  command(args: readonly string[]): Promise<unknown>;
  /** True while connected. */
  readonly ready: boolean;
  /** Closes the connection (commands in flight reject). Idempotent. */
  close(): Promise<void>;
}

/** Connection settings. */
export interface ConnectOptions {
  /** Called on connection errors (once per outage is the caller's business). */
  readonly onError?: (message: string) => void;
  /** Reconnect delay cap, ms (backoff doubles from 100 ms up to this). */
  readonly maxBackoffMs?: number;
}

/**
 * Opens a node-redis connection (RESP2 commands sent raw, so that every answer is parsed by our
 * own strict code). It reconnects with capped exponential backoff forever; while it is down,
 * commands fail at once (no offline queue: a server keeps serving its current versions rather than
 * queueing stale writes). Resolves immediately: the first connection is made in the background.
 */
export function connectFleet(url: string, options: ConnectOptions = {}): FleetConnection {
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const client = createClient({
    url,
    // RESP2: answers stay flat arrays (a RESP3 map would become an object keyed by hostile field names).
    RESP: 2,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 10), maxBackoff) },
  });
  client.on("error", (err: unknown) => options.onError?.(messageOf(err)));
  let closed = false;
  // connect() keeps retrying until it succeeds or the client is destroyed.
  const connecting = client.connect().catch((err: unknown) => {
    if (!closed) options.onError?.(messageOf(err));
  });
  return {
    get ready() {
      return client.isReady;
    },
    async command(args) {
      if (closed) throw new ModhostError("E_FLEET_UNAVAILABLE", "the fleet connection is closed");
      if (!client.isReady) throw new ModhostError("E_FLEET_UNAVAILABLE", `Redis at ${redact(url)} is not reachable`);
      try {
        return await client.sendCommand([...args]);
      } catch (err) {
        const message = messageOf(err);
        // A script's own refusal comes back as a Redis error reply starting with our code.
        const coded = /^(E_FLEET_[A-Z_]+) (.*)$/s.exec(message);
        if (coded !== null) throw new ModhostError(coded[1] === "E_FLEET_CONFLICT" ? "E_FLEET_CONFLICT" : coded[1] === "E_FLEET_LEASE" ? "E_FLEET_LEASE" : "E_FLEET_DATA", coded[2] ?? message);
        if (/WRONGTYPE|ERR /.test(message)) throw new ModhostError("E_FLEET_DATA", `Redis refused ${args[0]}: ${message}`);
        throw new ModhostError("E_FLEET_UNAVAILABLE", `Redis at ${redact(url)}: ${message}`, {}, { cause: err });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (client.isReady) await client.close().catch(() => client.destroy());
      else client.destroy();
      await connecting;
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}
