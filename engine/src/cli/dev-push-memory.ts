import type { SwapReport } from "../model/swap-report.js";

/**
 * What `modhost dev` last pushed: a folder whose files did not change since the last push is not
 * pushed again (an editor's save can wake the watcher twice, which printed the same refusal twice),
 * and a push that follows a refused one is known as its fix.
 */
export class DevPushMemory {
  #lastFiles: string | undefined;
  #refused = false;

  /** Are these the files of the last push (and it got an answer)? */
  unchanged(files: Readonly<Record<string, string>>): boolean {
    return this.#lastFiles !== undefined && this.#lastFiles === key(files);
  }

  /** Was the last push refused (held for approval does not count)? */
  get lastRefused(): boolean {
    return this.#refused;
  }

  /** Notes the answer to a push of `files`. */
  remember(files: Readonly<Record<string, string>>, report: SwapReport): void {
    this.#lastFiles = key(files);
    this.#refused = !report.ok && report.error.code !== "E_APPROVAL_REQUIRED";
  }

  /** Forgets the last push (after a reconnect the server may have lost it: push again). */
  forget(): void {
    this.#lastFiles = undefined;
  }
}

function key(files: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
