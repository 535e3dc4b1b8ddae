// Things that went wrong during a run without stopping it, counted by kind: events that came back
// with ok: false, mods that failed to load and were retried, swaps refused and retried. A loaded
// machine can push a call past its wall-clock time limit; the run goes on and says so in the
// JSON's `failures` (run.js collects them after each benchmark).

const counts = {};

/**
 * Counts one failure of `kind` (e.g. "inline:E_TIMEOUT"); throws past `limit` of the same kind.
 * The first of each kind is said on stderr with its detail: the JSON keeps only the counts.
 */
export function noteFailure(kind, detail, limit = 100) {
  counts[kind] = (counts[kind] ?? 0) + 1;
  if (counts[kind] === 1) process.stderr.write(`[bench] failure ${kind}: ${describe(detail).slice(0, 2000)}\n`);
  if (counts[kind] > limit) throw new Error(`over ${limit} failures of ${kind}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
}

/** Counts a failed emit result of `runner`. */
export function noteFailedResult(runner, result) {
  noteFailure(`${runner}:event:${result?.error?.code ?? result?.error?.message ?? "E_UNKNOWN"}`, result);
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  try {
    return JSON.stringify(detail);
  } catch (err) {
    return `(detail not printable: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Returns the failures counted since the last call, and forgets them. */
export function takeFailures() {
  const out = { ...counts };
  for (const key of Object.keys(counts)) delete counts[key];
  return out;
}

/**
 * ModHost.create() until every mod in the folder runs: a mod whose init() ran past its time limit
 * (the default is 50 ms of wall time, which a 10k-entity init can exceed on a busy machine) is
 * faulted; the host is closed and created again, up to `tries` times. Each retry is counted, and
 * so is every sandbox restart (`sandbox_died`) unless `kills` says the benchmark kills it itself.
 */
export async function createHost(ModHost, options, { tries = 5, kills = false } = {}) {
  for (let attempt = 1; ; attempt++) {
    const host = await ModHost.create(options);
    // A sandbox restart is counted with why it died (the watchdog says what it charged).
    host.on("log", (line) => {
      if (!kills && line.level === "error" && line.message.startsWith("sandbox process died")) noteFailure("sandbox_died", line.message);
    });
    const bad = host.mods().filter((m) => m.status !== "running");
    if (bad.length === 0) return host;
    await host.close();
    const what = bad.map((m) => `${m.name}: ${m.error?.code ?? m.status}`).join(", ");
    noteFailure(`${options.isolation ?? "process"}:load:${bad[0].error?.code ?? bad[0].status}`, what);
    if (attempt >= tries) throw new Error(`mods did not load after ${tries} tries: ${what}`);
  }
}
