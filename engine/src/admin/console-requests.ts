import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { RequestHandlerTable } from "./request-handlers.js";

/**
 * Console requests: send an event as the game would (to every mod that handles it), read a mod's
 * state, list the events each mod handles. Each answer carries its time on the server, in ms.
 */
export const CONSOLE_REQUESTS: Pick<RequestHandlerTable, "emit" | "state" | "events"> = {
  emit: async (request, { host }) => {
    if (request.mod !== undefined && !host.mods().some((m) => m.name === request.mod)) {
      throw new ModhostError("E_MOD_NOT_FOUND", `no mod named "${request.mod}" is loaded`, { mod: request.mod });
    }
    const started = performance.now();
    const results = await host.emit(request.event, request.payload);
    const ms = round(performance.now() - started);
    return { results: request.mod === undefined ? results : results.filter((r) => r.mod === request.mod), ms };
  },
  state: async (request, { host }) => {
    const started = performance.now();
    const state = await host.state(request.mod);
    return { state, ms: round(performance.now() - started) };
  },
  events: async (_request, { host }) => ({ mods: Object.fromEntries(Object.entries(host.handledEvents()).map(([mod, events]) => [mod, [...events]])) }),
};

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
