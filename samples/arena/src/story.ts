import { performance } from "node:perf_hooks";

/** Prints the demo's story: one line per step, stamped with the seconds since the start. */
export class Story {
  readonly #start = performance.now();
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  /** A step of the story. */
  line(text: string): void {
    const seconds = ((performance.now() - this.#start) / 1000).toFixed(2).padStart(6);
    this.#write(`[${seconds}s] ${text}`);
  }

  /** A detail under the last step. */
  detail(text: string): void {
    this.#write(`           ${text}`);
  }
}
