import type { LogEvent } from "../host/mod-host.js";
import type { LogLine } from "./protocol.js";

/**
 * The most recent log lines of a host, for the `logs` request: a ring of at most `capacity` lines,
 * each message cut to `maxChars`, so its memory is bounded whatever the mods log.
 */
export class LogHistory {
  readonly #capacity: number;
  readonly #maxChars: number;
  readonly #ring: (LogLine | undefined)[];
  #next = 0;
  #seq = 0;

  constructor(capacity: number, maxChars: number) {
    this.#capacity = capacity;
    this.#maxChars = maxChars;
    this.#ring = new Array<LogLine | undefined>(capacity);
  }

  /** Records a line and returns it numbered, timed and cut to size. */
  add(event: LogEvent): LogLine {
    const message = event.message.length > this.#maxChars ? `${event.message.slice(0, this.#maxChars)}... (${event.message.length - this.#maxChars} more characters)` : event.message;
    const line: LogLine = { seq: ++this.#seq, time: Date.now(), mod: event.mod, level: event.level, message };
    if (this.#capacity > 0) {
      this.#ring[this.#next] = line;
      this.#next = (this.#next + 1) % this.#capacity;
    }
    return line;
  }

  /** Up to `limit` of the latest lines (of `mod` only, if given), oldest first. */
  recent(limit: number, mod?: string): LogLine[] {
    const out: LogLine[] = [];
    for (let i = 1; i <= this.#capacity && out.length < limit; i++) {
      const line = this.#ring[(this.#next - i + this.#capacity) % this.#capacity];
      if (line === undefined) break;
      if (mod === undefined || line.mod === mod) out.push(line);
    }
    return out.reverse();
  }
}
