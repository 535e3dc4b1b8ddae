/**
 * Waits for resources started side by side (a Redis server, a registry, a publisher's keys...).
 * If any of them failed to start, the ones that did are stopped before the failure is thrown: a
 * failed setup must leave no process behind (Promise.all would drop the ones that started, and
 * their processes would outlive the test file).
 */
export async function allStarted<T extends readonly unknown[]>(
  starting: { readonly [K in keyof T]: Promise<T[K]> },
  stops: { readonly [K in keyof T]: (resource: T[K]) => Promise<void> },
): Promise<T> {
  const settled = await Promise.allSettled(starting as readonly Promise<unknown>[]);
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure === undefined) return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
  const stopFns = stops as readonly ((resource: unknown) => Promise<void>)[];
  const stopped = await Promise.allSettled(settled.map((r, i) => (r.status === "fulfilled" ? (stopFns[i] as (resource: unknown) => Promise<void>)(r.value) : Promise.resolve())));
  const stopFailures = stopped.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  if (stopFailures.length > 0) throw new AggregateError([failure.reason, ...stopFailures], "a resource failed to start, and stopping the others failed too");
  throw failure.reason;
}
