import type { StateSnapshot, WireEvent } from "../model/wire.js";
import type { CommitMode, ReplayStep } from "../sandbox/sandbox-backend.js";
import { isEventEntry, type JournalEntry, type SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";
import { failureIn } from "../sandbox/sandbox-outcome.js";

/** How many times a respawn is tried when another mod's crash takes the sandbox down under it. */
const RESPAWN_ATTEMPTS = 3;

/**
 * Recovery: the state lives in the isolate, so after anything that loses or taints it (a timeout
 * cut a handler short, the memory limit disposed the isolate, the sandbox process died, a failed
 * migrate) the slot respawns: a fresh isolate started from the last checkpoint, with the journal
 * replayed through the versions that ran it and capability answers served from the records.
 */
export class Recovery {
  readonly #slot: SlotState;
  readonly #journal: SlotJournal;

  constructor(slot: SlotState, journal: SlotJournal) {
    this.#slot = slot;
    this.#journal = journal;
  }

  /**
   * Makes sure a live instance holds the state as of the last journaled event. False: the mod is
   * faulted. A restore of an instance that was lost is reported (`ctx.restored`); `resume` (the
   * first instance of a mod brought back from its stateDir) is not.
   */
  async ensureInstance(why: "lost" | "resume" = "lost"): Promise<boolean> {
    const slot = this.#slot;
    if (slot.instance.live) return true;
    slot.instance.forget(); // its sandbox process is gone, and the instance with it
    for (let attempt = 0; attempt < RESPAWN_ATTEMPTS; attempt++) {
      const respawned = await this.#respawn();
      if (respawned === "ok") {
        if (why === "lost") slot.ctx.restored?.(slot.name, this.#journal.events);
        return true;
      }
      if (respawned !== "lost") break;
    }
    if (slot.status === "running") {
      slot.status = "faulted";
      slot.lastError ??= slot.info("E_MOD_FAULTED", `mod ${slot.name} could not be restored from its checkpoint`);
      // A resume's caller reports its error itself (as a start-up fault): one fault, not two.
      if (why === "lost") slot.fault("E_MOD_FAULTED", slot.lastError.message);
    }
    return false;
  }

  /** The live state; if the sandbox dies while it is read, respawns and reads again. */
  async snapshot(): Promise<StateSnapshot> {
    const slot = this.#slot;
    for (let attempt = 0; ; attempt++) {
      if (!(await this.ensureInstance())) {
        if (this.#journal.checkpoint && this.#journal.events === 0) return this.#journal.checkpoint.snapshot;
        throw new Error(slot.lastError?.message ?? `mod ${slot.name} is not running`);
      }
      const out = await slot.ctx.backend.exportState(slot.instance.id as string);
      if (out.kind === "ok") return out.value;
      if (out.kind === "failed") throw new Error(out.error.message);
      await slot.instance.drop();
      if (attempt >= 2) throw new Error(`reading the state failed: ${out.kind}`);
    }
  }

  /**
   * Starts the checkpoint's version in a fresh isolate from the checkpoint and replays the
   * journal, in one request to the sandbox (backend restore()).
   */
  async #respawn(): Promise<"ok" | "lost" | "failed"> {
    const slot = this.#slot;
    const backend = slot.ctx.backend;
    const checkpoint = this.#journal.checkpoint;
    if (checkpoint === undefined) return "failed";
    const restored = await backend.restore({ spec: checkpoint.version.spec, snapshot: checkpoint.snapshot, steps: replaySteps(this.#journal.entries()) });
    switch (restored.kind) {
      case "ok":
        // The reply came from the live sandbox, and nothing ran since: the instance is of its generation.
        slot.instance.set(restored.value.id, backend.generation);
        slot.shape = { events: restored.value.shape.events };
        return "ok";
      case "start-failed":
        if (restored.start.kind === "lost") return "lost";
        slot.lastError = slot.info("E_MOD_FAULTED", `restoring from the checkpoint failed: ${failureIn(restored.start, "starting the mod").message}`);
        return "failed";
      case "replay-failed":
        // A replay cut on a starved machine (sandbox/cpu-budget.ts) is lost work, not a fault.
        if (restored.lost) return "lost";
        slot.lastError = slot.info("E_MOD_FAULTED", `replaying the journal failed: ${restored.why}`);
        return "failed";
    }
  }
}

/** The journal's entries as replay steps: runs of events, and each change of version. */
function replaySteps(entries: readonly JournalEntry[]): ReplayStep[] {
  const steps: ReplayStep[] = [];
  let events: WireEvent[] = [];
  for (const entry of entries) {
    if (isEventEntry(entry)) {
      events.push(entry);
      continue;
    }
    if (events.length > 0) steps.push({ kind: "events", events });
    events = [];
    const mode: CommitMode = entry.kind === "activate" ? { kind: "handover" } : { kind: "migrate", fromVersion: entry.fromVersion, now: entry.now };
    steps.push({ kind: "version", spec: entry.version.spec, mode });
  }
  if (events.length > 0) steps.push({ kind: "events", events });
  return steps;
}
