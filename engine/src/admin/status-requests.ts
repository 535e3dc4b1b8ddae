import type { RequestHandlerTable } from "./request-handlers.js";

const DEFAULT_LOG_LIMIT = 200;

/** Status requests: the mods, recent log lines, metrics. */
export const STATUS_REQUESTS: Pick<RequestHandlerTable, "status" | "logs" | "metrics"> = {
  status: async (_request, { host }) => ({ mods: host.mods() }),
  logs: async (request, { history }) => ({ lines: history.recent(request.limit ?? DEFAULT_LOG_LIMIT, request.mod) }),
  metrics: async (_request, { host }) => ({ metrics: host.metrics(), heaps: await host.heaps() }),
};
