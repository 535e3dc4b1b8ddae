/**
 * The process backend's warm spare (backends/warm-spare.ts) and what it asks of it: once ready,
 * the spare is told (`pool` op, never answered) to make one isolate per live mod with the prelude
 * already run (sandbox/isolate-pool.ts), up to a cap, so that the restores after a crash take them.
 */
import { WarmSpare } from "./warm-spare.js";
import type { SandboxProcess } from "./sandbox-process.js";
import type { SandboxRequest } from "./sandbox-protocol.js";
import type { LoadSpec } from "../model/wire.js";
import { encodeRequestFrame } from "./request-frame.js";

/** Isolates a spare makes ahead of need by default (about 1.2 MB each while it waits). */
export const DEFAULT_SPARE_ISOLATES = 128;

/** What the spare needs from the backend. */
export interface ProcessSpareHost {
  /** Starts a sandbox process with --prewarm. */
  launch(): { readonly child: SandboxProcess; readonly ready: Promise<void> };
  /** How many mods are live in the sandbox process now. */
  liveMods(): number;
  /** The live versions, by spec key (sandbox/preloaded-versions.ts): the spare loads them ahead of the restores. */
  liveSpecs(): ReadonlyMap<string, LoadSpec>;
  /** Is the backend closing (no more spares)? */
  closing(): boolean;
}

/** Keeps one spare sandbox process ready and its isolate pool topped up. */
export class ProcessSpare {
  readonly #spare: WarmSpare<SandboxProcess>;
  readonly #host: ProcessSpareHost;
  readonly #maxIsolates: number;
  /** Isolates each spare was asked to make so far. */
  readonly #pooled = new WeakMap<SandboxProcess, number>();
  /** The versions each spare was asked to keep loaded, by spec key. */
  readonly #preloaded = new WeakMap<SandboxProcess, ReadonlySet<string>>();
  #topUpTimer: NodeJS.Timeout | undefined;
  /** Memory limit of the latest started mod: the spare's isolates are made with it. */
  #memoryMb = 32;

  constructor(host: ProcessSpareHost, maxIsolates = DEFAULT_SPARE_ISOLATES) {
    this.#host = host;
    this.#maxIsolates = maxIsolates;
    this.#spare = new WarmSpare<SandboxProcess>(
      { launch: () => host.launch(), stop: (child) => child.stop() },
      // A new spare waits a second after one was taken: the restores get the CPU first.
      { delayMs: 1000, onReady: () => this.#topUp() },
    );
    // Not at once: a host that lives a second or two (tests, scripts) never pays for a spare.
    this.#spare.schedule(1500);
  }

  /** The spare process, once one is started (ready or not). */
  get child(): SandboxProcess | undefined {
    return this.#spare.child;
  }

  get ready(): boolean {
    return this.#spare.ready;
  }

  /** A mod started (or changed version) in the live process: top the pool up once the burst of starts is over. */
  started(memoryMb?: number): void {
    if (memoryMb !== undefined) this.#memoryMb = memoryMb;
    if (this.#topUpTimer !== undefined) return;
    this.#topUpTimer = setTimeout(() => {
      this.#topUpTimer = undefined;
      this.#topUp();
    }, 200);
    this.#topUpTimer.unref();
  }

  /** Hands over the spare if it is ready (the caller makes it the live process). */
  take(): SandboxProcess | undefined {
    return this.#spare.take();
  }

  /** A sandbox process exited: if it was the spare, another is started. */
  exited(child: SandboxProcess): void {
    this.#spare.exited(child);
  }

  async close(): Promise<void> {
    if (this.#topUpTimer !== undefined) clearTimeout(this.#topUpTimer);
    this.#topUpTimer = undefined;
    await this.#spare.close();
  }

  /**
   * Asks a ready spare to make isolates ahead of need (one per live mod, up to the cap), then to
   * load the live versions into them (the same cap), so that a restore only imports its state.
   */
  #topUp(): void {
    const spare = this.#spare.ready ? this.#spare.child : undefined;
    if (spare === undefined || spare.exited || this.#host.closing()) return;
    const requests: SandboxRequest[] = [];
    const want = Math.min(this.#maxIsolates, this.#host.liveMods());
    const pooled = this.#pooled.get(spare) ?? 0;
    if (want > pooled) {
      requests.push({ op: "pool", id: 0, body: { count: want - pooled, memoryMb: this.#memoryMb } });
      this.#pooled.set(spare, want);
    }
    const specs = this.#host.liveSpecs();
    const sent = this.#preloaded.get(spare) ?? new Set<string>();
    const keep = [...specs.keys()].slice(0, this.#maxIsolates);
    const add = keep.filter((key) => !sent.has(key)).flatMap((key) => specs.get(key) ?? []);
    if (add.length > 0 || keep.length !== sent.size) {
      requests.push({ op: "preload", id: 0, body: { keep, add } });
      this.#preloaded.set(spare, new Set(keep));
    }
    if (requests.length > 0) spare.send(encodeRequestFrame(requests));
  }
}
