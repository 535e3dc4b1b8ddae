import { join } from "node:path";
import { GroupCommit } from "../persist/group-commit.js";
import { ModStore } from "../persist/mod-store.js";
import { SharedJournal } from "../persist/shared-journal.js";
import { redoSharedJournal } from "../persist/shared-journal-redo.js";
import { openStateDir } from "../persist/state-dir.js";
import { SHARED_JOURNAL_FOLDER } from "../persist/store-layout.js";
import { VersionPruner } from "../persist/version-pruner.js";
import { VersionStore } from "../persist/version-store.js";
import type { SlotPersistence } from "../slot/slot-context.js";
import type { HostEvents } from "./host-events.js";
import type { HostMetrics } from "./host-metrics.js";
import type { ResolvedOptions } from "./host-options.js";

/** What the stateDir's parts need of the host. */
export interface StateDirContext {
  readonly options: ResolvedOptions;
  readonly metrics: HostMetrics;
  readonly events: HostEvents;
  /** Does any slot still name the stored version `hash` (live, history or held)? */
  referenced(hash: string): boolean;
}

/**
 * The stateDir's shared parts (version store, group commit, pruner, shared journal) and each
 * mod's store, opened on first use. Owned by the slot registry; close() after the slots and the sandbox.
 */
export class StateDirParts {
  readonly #ctx: StateDirContext;
  readonly #modsDir: string;
  readonly #versions: VersionStore;
  readonly #group: GroupCommit;
  readonly #pruner: VersionPruner;
  readonly #shared: SharedJournal | undefined;
  readonly #persistence = new Map<string, SlotPersistence>();

  private constructor(ctx: StateDirContext, modsDir: string, versions: VersionStore, pruner: VersionPruner, shared: SharedJournal | undefined, onSync: (ms: number) => void) {
    this.#ctx = ctx;
    this.#modsDir = modsDir;
    this.#versions = versions;
    this.#group = new GroupCommit(onSync);
    this.#pruner = pruner;
    this.#shared = shared;
  }

  /** Opens the stateDir's shared parts (before any mod loads). */
  static async open(stateDir: string, ctx: StateDirContext): Promise<StateDirParts> {
    const { modsDir } = await openStateDir(stateDir);
    const versions = await VersionStore.open(stateDir);
    const pruner = new VersionPruner(
      versions,
      modsDir,
      (hash) => ctx.referenced(hash),
      (err) => ctx.events.log({ mod: "<stateDir>", level: "warn", message: `pruning unused versions failed: ${err.message}` }),
    );
    // Before any mod recovers: put back into the mods' segments what a machine crash took from them.
    const walDir = join(stateDir, SHARED_JOURNAL_FOLDER);
    const redo = await redoSharedJournal(walDir, modsDir);
    for (const warning of redo.warnings) ctx.events.log({ mod: "<stateDir>", level: "warn", message: `shared journal: ${warning}` });
    const onSync = (ms: number): void => ctx.metrics.journalSync(ms);
    const shared =
      ctx.options.durability === "batch"
        ? await SharedJournal.open(walDir, { onSync, onError: (err) => ctx.events.log({ mod: "<stateDir>", level: "error", message: `shared journal: ${err.message}` }) })
        : undefined;
    return new StateDirParts(ctx, modsDir, versions, pruner, shared, onSync);
  }

  /** The store of a mod, opened on first use (stores are created lazily per mod name). */
  persistFor(name: string): SlotPersistence {
    let persistence = this.#persistence.get(name);
    if (persistence === undefined) {
      persistence = { store: ModStore.openSync(this.#modsDir, name, this.#ctx.options.durability, this.#group, this.#ctx.metrics, this.#shared), versions: this.#versions };
      persistence.store.onPruned = () => this.#pruner.request();
      this.#persistence.set(name, persistence);
    }
    return persistence;
  }

  /** The store of a mod, if it was opened. */
  opened(name: string): SlotPersistence | undefined {
    return this.#persistence.get(name);
  }

  /** Asks the pruner to look for stored versions no slot names any more. */
  requestPrune(): void {
    this.#pruner.request();
  }

  /** Flushes and closes every part (after the slots and the sandbox); failures go to `errors`. */
  async close(errors: unknown[]): Promise<void> {
    await this.#group.drain().catch((err: unknown) => errors.push(err));
    await this.#pruner.close().catch((err: unknown) => errors.push(err));
    // Together: with the shared journal each close syncs its mod's segment (100 mods: 100 syncs).
    let flushed = true;
    await Promise.all(
      [...this.#persistence.values()].map((persistence) =>
        persistence.store.close().catch((err: unknown) => {
          flushed = false;
          errors.push(err);
        }),
      ),
    );
    // Every store synced its own segments: the shared journal's copy is no longer needed.
    await this.#shared?.close(flushed).catch((err: unknown) => errors.push(err));
  }
}
