import { performance } from "node:perf_hooks";
import type { AdminClient } from "../admin/admin-client.js";
import { formatEmitResults, formatState, formatTiming } from "./console-format.js";
import { usageError } from "./cli-args.js";
import { formatVersions } from "./report-format.js";
import type { Style } from "./terminal-style.js";

/** What one console action printed: text for people, the JSON for --json, and whether it went well. */
export interface ActionOutcome {
  readonly text: string;
  readonly data: unknown;
  readonly ok: boolean;
}

/** Parses an event's payload given on the command line (JSON; none means null). */
export function parsePayload(command: string, text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError(`modhost ${command}: the payload is not JSON (${(err as Error).message}); quote it for the shell, e.g. '{"player":"p1"}'`);
  }
}

/** Sends `event` to the server's mods (as the game would emit it); `mod` keeps only that mod's answer. */
export async function emitAction(client: AdminClient, event: string, payload: unknown, mod: string | undefined, style: Style): Promise<ActionOutcome> {
  const started = performance.now();
  const answer = await client.request("emit", { event, payload, ...(mod !== undefined ? { mod } : {}) });
  const timing = formatTiming(answer.ms, performance.now() - started);
  const handledBy = answer.results.length === 0 ? (await client.request("events", {})).mods : undefined;
  const ok = answer.results.length > 0 && answer.results.every((r) => r.ok);
  return { text: formatEmitResults(event, answer.results, timing, style, handledBy), data: { event, ...answer }, ok };
}

/** Reads a mod's state. */
export async function stateAction(client: AdminClient, mod: string, style: Style): Promise<ActionOutcome> {
  const started = performance.now();
  const answer = await client.request("state", { mod });
  return { text: formatState(answer.state, formatTiming(answer.ms, performance.now() - started), style), data: { mod, ...answer }, ok: true };
}

/** Lists a mod's versions: history, live, held. */
export async function versionsAction(client: AdminClient, mod: string, style: Style): Promise<ActionOutcome> {
  const { versions } = await client.request("versions", { mod });
  return { text: formatVersions(versions, style), data: { mod, versions }, ok: true };
}
