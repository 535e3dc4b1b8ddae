/**
 * Counts live resources (isolates, sandbox processes, watchers, servers) by kind, so that tests
 * can fail a run that leaves any open. Kept on globalThis under a registered symbol because a
 * test may load the engine both from source and from dist.
 */
type Registry = Map<string, number>;

const KEY = Symbol.for("modhost.liveResources");

function registry(): Registry {
  const holder = globalThis as { [KEY]?: Registry };
  holder[KEY] ??= new Map();
  return holder[KEY];
}

/** Records that a resource of `kind` was opened; returns the function that records its close. */
export function trackResource(kind: string): () => void {
  const live = registry();
  live.set(kind, (live.get(kind) ?? 0) + 1);
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    live.set(kind, (live.get(kind) ?? 1) - 1);
  };
}

/** Live resources by kind (only kinds with a non-zero count). */
export function liveResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, count] of registry()) if (count !== 0) out[kind] = count;
  return out;
}
