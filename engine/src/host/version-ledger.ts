import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "../errors/modhost-error.js";
import type { SwapReport } from "../model/swap-report.js";
import { atomicWrite } from "../persist/atomic-write.js";

/** How a version became live (or held): what the host saw happen. */
export type VersionHow = "startup" | "load" | "swap" | "rollback" | "approve";

/** One version of a mod as `ModHost.versions()` lists it, oldest first. */
export interface VersionInfo {
  readonly version: string;
  /** sha256 of the compiled sources. */
  readonly hash: string;
  /** Where it came from: "folder", "deploy" or "registry" (as ModInfo's origin). */
  readonly source: string;
  /** When it went live (or was held), ISO 8601; for versions live since startup, when the host started. */
  readonly at: string;
  /** What made it live: the host's startup, a load, a swap (reload, deploy, package), a rollback, an approval. */
  readonly how: VersionHow;
  /** Who asked, when the admin channel knows (e.g. the deploying user): set by the admin server. */
  readonly by?: string;
  /** Is it the live version? */
  readonly current: boolean;
  /** Is it the version held for approval? */
  readonly pending: boolean;
  /** Why it is held, when pending (the E_APPROVAL_REQUIRED message). */
  readonly reason?: string;
}

/** The file in the stateDir that keeps the ledger across restarts. */
export const LEDGER_FILE = "versions-ledger.json";

/** Entries kept (the oldest go first): far more than the versions a slot keeps for rollbacks. */
const MAX_ENTRIES = 2000;

interface LedgerEntry {
  at: string;
  how: VersionHow;
  by?: string;
}

/**
 * When, how and by whom each version of each mod went live, and why a held one is held, as the
 * host saw it happen (by hash). With a stateDir it is kept in `versions-ledger.json` there (written
 * atomically after each change, in order), so `versions` after a restart shows the real history;
 * a version the ledger never saw go live counts as live since this host's startup.
 */
export class VersionLedger {
  readonly #startedAt = new Date().toISOString();
  readonly #seen = new Map<string, LedgerEntry>();
  /** Who asked for versions not live yet (a deploy held for approval), until a swap makes them live. */
  readonly #askedBy = new Map<string, string>();
  readonly #held = new Map<string, string>();
  #file: string | undefined;
  /** The write in flight; each change chains the next write behind it. */
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  readonly #onError: (message: string) => void;

  constructor(onError: (message: string) => void = () => undefined) {
    this.#onError = onError;
  }

  /**
   * Reads the ledger kept in `stateDir` (if any) and keeps it there from now on. A damaged file is
   * reported through `onError` and replaced: the ledger is history for operators, not state.
   */
  async attach(stateDir: string): Promise<void> {
    const file = join(stateDir, LEDGER_FILE);
    this.#file = file;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.#onError(`cannot read ${file}: ${messageOf(err)}`);
      return;
    }
    try {
      for (const row of parseRows(JSON.parse(text))) this.#seen.set(key(row.mod, row.hash), { at: row.at, how: row.how, ...(row.by !== undefined ? { by: row.by } : {}) });
    } catch (err) {
      this.#onError(`${file} is damaged (${messageOf(err)}); the version history starts afresh`);
    }
  }

  /** Notes a report; `liveHash` is the mod's live hash after it. */
  note(report: SwapReport, liveHash: string | undefined, approving: boolean): void {
    if (report.error?.code === "E_APPROVAL_REQUIRED") {
      this.#held.set(report.mod, report.error.message);
      return;
    }
    if (!report.ok || liveHash === undefined || report.kind === "noop") return;
    const how: VersionHow = report.kind === "rollback" ? "rollback" : approving ? "approve" : report.from === "" ? "load" : "swap";
    const k = key(report.mod, liveHash);
    const by = this.#askedBy.get(k) ?? this.#seen.get(k)?.by;
    this.#askedBy.delete(k);
    this.#set(k, { at: new Date().toISOString(), how, ...(by !== undefined ? { by } : {}) });
  }

  /** Notes a version live when the host started, unless the ledger knows when it went live (kept from an earlier run). */
  noteStartup(mod: string, hash: string): void {
    if (!this.#seen.has(key(mod, hash))) this.#set(key(mod, hash), { at: this.#startedAt, how: "startup" });
  }

  /**
   * Notes who asked for version `hash` of `mod` (the admin channel's `by`). A version not live yet
   * (held for approval) gets no entry: its `by` waits for the swap that makes it live.
   */
  noteBy(mod: string, hash: string, by: string): void {
    const k = key(mod, hash);
    const seen = this.#seen.get(k);
    if (seen === undefined) this.#askedBy.set(k, by);
    else this.#set(k, { ...seen, by });
  }

  /** When, how and by whom a version went live (startup when the ledger never saw it happen). */
  entry(mod: string, hash: string): { at: string; how: VersionHow; by?: string } {
    return this.#seen.get(key(mod, hash)) ?? { at: this.#startedAt, how: "startup" };
  }

  /** Why the held version of `mod` is held. */
  heldReason(mod: string): string | undefined {
    return this.#held.get(mod);
  }

  /** Waits for the last write (close() calls it). */
  flush(): Promise<void> {
    return this.#writing;
  }

  #set(k: string, entry: LedgerEntry): void {
    this.#seen.delete(k); // re-inserted last: Map order is age, the oldest go first
    this.#seen.set(k, entry);
    for (const old of this.#seen.keys()) {
      if (this.#seen.size <= MAX_ENTRIES) break;
      this.#seen.delete(old);
    }
    this.#save();
  }

  /** Writes the ledger after the write in flight; changes made meanwhile share one write. */
  #save(): void {
    const file = this.#file;
    if (file === undefined || this.#dirty) return;
    this.#dirty = true;
    this.#writing = this.#writing.then(async () => {
      this.#dirty = false;
      const rows = [...this.#seen].map(([k, entry]) => {
        const [mod, hash] = k.split("\0") as [string, string];
        return { mod, hash, ...entry };
      });
      await atomicWrite(file, JSON.stringify({ format: 1, versions: rows })).catch((err: unknown) => this.#onError(`writing ${file} failed: ${messageOf(err)}`));
    });
  }
}

interface LedgerRow {
  readonly mod: string;
  readonly hash: string;
  readonly at: string;
  readonly how: VersionHow;
  readonly by?: string;
}

const HOWS: readonly string[] = ["startup", "load", "swap", "rollback", "approve"];

/** The rows of a ledger file; throws on anything else. */
function parseRows(value: unknown): LedgerRow[] {
  const rows = (value as { versions?: unknown } | null)?.versions;
  if (!Array.isArray(rows)) throw new Error('no "versions" list');
  return rows.map((row: unknown, i) => {
    const r = row as Partial<Record<keyof LedgerRow, unknown>> | null;
    if (r === null || typeof r !== "object" || typeof r.mod !== "string" || typeof r.hash !== "string" || typeof r.at !== "string" || typeof r.how !== "string" || !HOWS.includes(r.how) || (r.by !== undefined && typeof r.by !== "string")) {
      throw new Error(`versions[${i}] is not a ledger row`);
    }
    return { mod: r.mod, hash: r.hash, at: r.at, how: r.how as VersionHow, ...(typeof r.by === "string" ? { by: r.by } : {}) };
  });
}

function key(mod: string, hash: string): string {
  return `${mod}\0${hash}`;
}
