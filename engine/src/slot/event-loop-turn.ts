import { performance } from "node:perf_hooks";

/**
 * How long (ms) the slots' pumps may keep the event loop in one turn. With inline isolation a
 * dispatch settles in microtasks, so a game that runs `await host.emit()` in a tight loop would
 * never let timers, I/O, watchers or reloads run; past this slice the pumps continue in the next
 * turn (setImmediate) instead. Short enough for timers to stay punctual, long enough that a batch
 * of events pays for at most one extra turn per slice.
 */
export const TURN_SLICE_MS = 10;

let turnStart = -1;

/**
 * Has the current event-loop turn run past `TURN_SLICE_MS`? The first call in a turn starts its
 * clock; an immediate (which runs only when the loop moves on) stops it.
 */
export function turnOverdue(): boolean {
  const now = performance.now();
  if (turnStart < 0) {
    turnStart = now;
    setImmediate(() => {
      turnStart = -1;
    }).unref();
    return false;
  }
  return now - turnStart > TURN_SLICE_MS;
}

/** Resolves in the next turn of the event loop, after timers and I/O had their go. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
