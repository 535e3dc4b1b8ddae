/** Holds the host's event loop for `ms`, as a game's long synchronous task would (tests only). */
export function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs meanwhile
  }
}
