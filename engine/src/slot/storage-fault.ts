import { performance } from "node:perf_hooks";
import type { Recovery } from "./recovery.js";
import type { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";

/** After a failed journal write: first retry after this long, doubling up to STORAGE_RETRY_MAX_MS. */
const STORAGE_RETRY_MS = 100;
const STORAGE_RETRY_MAX_MS = 5000;

/**
 * A slot whose journal writes fail: events are refused (E_PERSIST_FAILED) until a retry, on the
 * next event or by a timer with backoff, respawns the instance at the last durable point and
 * writes it as a new checkpoint.
 */
export class StorageFault {
  readonly #slot: SlotState;
  readonly #journal: SlotJournal;
  readonly #recovery: Recovery;
  /** Runs a retry in the slot's queue order. */
  readonly #inQueue: (fn: () => Promise<void>) => void;
  #fault: { message: string; delayMs: number; retryAt: number; timer: ReturnType<typeof setTimeout> | undefined } | undefined;

  constructor(slot: SlotState, journal: SlotJournal, recovery: Recovery, inQueue: (fn: () => Promise<void>) => void) {
    this.#slot = slot;
    this.#journal = journal;
    this.#recovery = recovery;
    this.#inQueue = inQueue;
  }

  get active(): boolean {
    return this.#fault !== undefined;
  }

  /** Why writes fail (the last error seen). */
  get message(): string {
    return this.#fault?.message ?? "";
  }

  /** Journal writes failed: refuse events until a retry succeeds (on the next event, or by timer). */
  enter(message: string): void {
    if (this.#fault !== undefined) {
      this.#fault.message = message;
      return;
    }
    this.#fault = { message, delayMs: STORAGE_RETRY_MS, retryAt: performance.now() + STORAGE_RETRY_MS, timer: undefined };
    this.#journal.writesFailing = true;
    this.#slot.fault("E_PERSIST_FAILED", `journal write failed: ${message}; events answer E_PERSIST_FAILED until storage works again`);
    this.#slot.ctx.storage(this.#slot.name, false, `journal writes fail (${message}): events are refused with E_PERSIST_FAILED; retrying with backoff`);
    this.#arm();
  }

  /**
   * Tries to leave the storage fault: respawns the instance at the last durable point and makes it
   * a new checkpoint. True when storage works again. Retries wait with backoff.
   */
  async retry(): Promise<boolean> {
    const slot = this.#slot;
    const fault = this.#fault;
    const store = slot.ctx.persistence?.store;
    if (fault === undefined || store === undefined) return true;
    if (performance.now() < fault.retryAt || slot.lastError?.code === "E_HOST_CLOSED") return false; // too soon, or unloaded
    let ok = false;
    if (await this.#recovery.ensureInstance()) {
      const out = await slot.ctx.backend.exportState(slot.instance.id as string);
      if (out.kind === "ok") {
        try {
          await store.reopen(out.value, slot.version.hash);
          this.#journal.reopened(out.value, slot.version);
          ok = true;
        } catch (err) {
          fault.message = (err as Error).message;
        }
      } else await slot.instance.drop();
    }
    if (!ok) {
      fault.delayMs = Math.min(STORAGE_RETRY_MAX_MS, fault.delayMs * 2);
      fault.retryAt = performance.now() + fault.delayMs;
      if (slot.status === "running") this.#arm();
      return false;
    }
    this.clear();
    slot.ctx.storage(slot.name, true, "journal writes work again: a new checkpoint was written and events are accepted again");
    this.#journal.writeMetaLater();
    return true;
  }

  /** Stops retrying and forgets the fault (the slot closes, or storage works again). */
  clear(): void {
    if (this.#fault?.timer !== undefined) clearTimeout(this.#fault.timer);
    this.#fault = undefined;
    this.#journal.writesFailing = false;
  }

  /** Stops the retry timer only (the slot is closing; the fault is cleared in queue order). */
  disarm(): void {
    if (this.#fault?.timer !== undefined) clearTimeout(this.#fault.timer);
  }

  /** Retries after `delayMs` (default: the fault's backoff). */
  #arm(delayMs?: number): void {
    const fault = this.#fault;
    if (fault === undefined) return;
    if (fault.timer !== undefined) clearTimeout(fault.timer);
    fault.timer = setTimeout(() => {
      fault.timer = undefined;
      if (this.#fault !== fault) return;
      // A timer may fire a little before performance.now() reaches retryAt (timers run on the
      // event loop's cached clock); retry() would then answer "too soon" and nothing would re-arm
      // it, leaving a mod that gets no events refused after storage works again.
      const left = fault.retryAt - performance.now();
      if (left > 0) return this.#arm(left + 1);
      this.#inQueue(async () => void (await this.retry()));
    }, delayMs ?? fault.delayMs);
    fault.timer.unref();
  }
}
