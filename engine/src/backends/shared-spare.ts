/**
 * One warm spare sandbox process for a pool of process backends (backends/process-pool.ts): it is
 * started and topped up as a single backend's spare is (backends/process-spare.ts), and whichever
 * member crashes first takes it. Until then nothing it says reaches a member; once taken, its
 * messages and its exit go to the member that took it.
 */
import type { LoadSpec } from "../model/wire.js";
import { ProcessSpare } from "./process-spare.js";
import type { SpareSource } from "./process-backend-options.js";
import { SandboxProcess, type SandboxProcessListener } from "./sandbox-process.js";

/** What the shared spare needs from the pool. */
export interface SharedSpareHost {
  /** The next launch number (instance ids carry it; unique across the pool). */
  nextLaunch(): number;
  /** Mods live in the pool now: the spare makes one isolate per mod, up to its cap. */
  liveMods(): number;
  /** The live versions of the shared members, by spec key: the spare preloads them. */
  liveSpecs(): ReadonlyMap<string, LoadSpec>;
  /** Is the pool closing (no more spares)? */
  closing(): boolean;
  /** Start spares with `--predictable` (ProcessBackendOptions.predictableGc). */
  readonly predictableGc: boolean;
}

/** The pool's spare: ProcessSpare, with each process's listener chosen when a member takes it. */
export class SharedSpare implements SpareSource {
  readonly #spare: ProcessSpare;
  /** The member listener of each spare that was taken. */
  readonly #owners = new WeakMap<SandboxProcess, SandboxProcessListener>();

  constructor(host: SharedSpareHost, maxIsolates?: number) {
    this.#spare = new ProcessSpare({ launch: () => this.#launch(host.nextLaunch(), host.predictableGc), liveMods: () => host.liveMods(), liveSpecs: () => host.liveSpecs(), closing: () => host.closing() }, maxIsolates);
  }

  /** The spare process, once one is started (ready or not). */
  get child(): SandboxProcess | undefined {
    return this.#spare.child;
  }

  get ready(): boolean {
    return this.#spare.ready;
  }

  take(listener: SandboxProcessListener): SandboxProcess | undefined {
    const child = this.#spare.take();
    if (child !== undefined) this.#owners.set(child, listener);
    return child;
  }

  started(memoryMb?: number): void {
    this.#spare.started(memoryMb);
  }

  async close(): Promise<void> {
    await this.#spare.close();
  }

  #launch(launch: number, predictableGc: boolean): { readonly child: SandboxProcess; readonly ready: Promise<void> } {
    let child: SandboxProcess | undefined;
    const started = SandboxProcess.start(
      launch,
      {
        // A spare says nothing but "ready" until it is taken (and is killed if it breaks the protocol).
        message: (message) => {
          const owner = child === undefined ? undefined : this.#owners.get(child);
          owner?.message(message);
        },
        protocolError: (error) => {
          const owner = child === undefined ? undefined : this.#owners.get(child);
          if (owner !== undefined) owner.protocolError(error);
          else child?.kill();
        },
        exit: (code, signal) => {
          if (child === undefined) return;
          const owner = this.#owners.get(child);
          if (owner !== undefined) owner.exit(code, signal);
          else this.#spare.exited(child);
        },
      },
      true,
      predictableGc,
    );
    child = started.child;
    return started;
  }
}
