/**
 * One spare sandbox process, started ahead of need with isolated-vm already loaded (and an isolate
 * made and dropped once, so that the native module and V8's isolate set-up are warm). When the
 * live sandbox process dies, the process backend takes the spare instead of starting a process and
 * waiting for Node to boot (about 100-150 ms on a loaded 2-core machine), and a new spare is
 * started a little later, off the recovery's critical path.
 */

/** What the spare needs from the process backend: start a process, stop one. */
export interface SpareLauncher<C> {
  /** Starts a process; `ready` settles when it can take requests (rejects if it died first). */
  launch(): { readonly child: C; readonly ready: Promise<void> };
  /** Asks the process to end (and makes sure it does); resolves when it has exited. */
  stop(child: C): Promise<void>;
}

/** Options of the spare. */
export interface WarmSpareOptions<C> {
  /** Wait before starting a new spare after one was taken (ms), so that recovery gets the CPU first. */
  readonly delayMs: number;
  /** Called when a spare has become ready. */
  readonly onReady?: (child: C) => void;
}

/** Keeps one spare process ready. */
export class WarmSpare<C> {
  readonly #launcher: SpareLauncher<C>;
  readonly #options: WarmSpareOptions<C>;
  #child: C | undefined;
  #ready = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Spares that died before being taken, in a row: backs off so a broken sandbox cannot spin. */
  #failures = 0;

  constructor(launcher: SpareLauncher<C>, options: WarmSpareOptions<C>) {
    this.#launcher = launcher;
    this.#options = options;
  }

  /** Is a spare ready to take over? */
  get ready(): boolean {
    return this.#ready;
  }

  /** The spare process, if one is started (ready or not). */
  get child(): C | undefined {
    return this.#child;
  }

  /** Starts a spare after `delayMs` (or the back-off) unless one exists or is scheduled. */
  schedule(delayMs = this.#options.delayMs): void {
    if (this.#closed || this.#child !== undefined || this.#timer !== undefined) return;
    const backoff = this.#failures === 0 ? 0 : Math.min(30_000, 500 * 2 ** this.#failures);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#start();
    }, Math.max(delayMs, backoff));
    this.#timer.unref();
  }

  /** Hands over the spare if it is ready (the caller owns it from now on), and schedules the next. */
  take(): C | undefined {
    if (!this.#ready || this.#child === undefined) return undefined;
    const child = this.#child;
    this.#child = undefined;
    this.#ready = false;
    this.schedule();
    return child;
  }

  /** Told by the process backend that a process exited: if it was the spare, forget it and start another. */
  exited(child: C): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    this.#ready = false;
    this.#failures++;
    this.schedule();
  }

  /** Stops the spare. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    this.#child = undefined;
    this.#ready = false;
    if (child !== undefined) await this.#launcher.stop(child);
  }

  #start(): void {
    if (this.#closed || this.#child !== undefined) return;
    const { child, ready } = this.#launcher.launch();
    this.#child = child;
    ready.then(
      () => {
        if (this.#child !== child) return;
        this.#ready = true;
        this.#failures = 0;
        this.#options.onReady?.(child);
      },
      // A spare that failed to start is reported through exited(); nothing is waiting on it.
      () => undefined,
    );
  }
}
