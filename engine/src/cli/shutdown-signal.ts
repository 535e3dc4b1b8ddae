/** A wait for SIGINT or SIGTERM that can be given up, removing its listeners. */
export interface ShutdownSignal {
  /** Resolves with the signal's name when one arrives. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the listeners (idempotent). */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM (once each) for a long-running command. While it listens, the
 * signals no longer kill the process: the command shuts down cleanly instead. A second signal,
 * arriving while the shutdown is under way, falls back to Node's default and ends the process.
 */
export function shutdownSignal(): ShutdownSignal {
  let fire: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    fire = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    dispose();
    fire(signal);
  };
  const dispose = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return { received, dispose };
}
