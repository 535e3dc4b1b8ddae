/**
 * The events of a dispatch as the sandbox process gets them in a request frame's list line
 * (backends/request-frame.ts): the event-list text the host wrote, which goes to the mod's isolate
 * as it is, and each event's seq, name and time from the frame's header. A payload is read from the
 * text only when something asks for one (a dispatch cut into slices resumes from its middle).
 */
import { decodeEventList, rememberEventList, type EventListText } from "../model/event-list-text.js";
import type { WireEvent } from "../model/wire.js";

/** A run of a list's events in the frame's header: `count` events seq, seq + 1, ... with one name and time. */
export type ListRun = readonly [seq: number, name: string, now: number, count: number];

/** The payloads of one list, parsed out of its text on first need. */
class ListPayloads {
  readonly #text: EventListText;
  readonly #count: number;
  #payloads: readonly string[] | undefined;

  constructor(text: EventListText, count: number) {
    this.#text = text;
    this.#count = count;
  }

  at(index: number): string {
    if (this.#payloads === undefined) {
      const payloads = decodeEventList(this.#text).map((event) => event.payload);
      if (payloads.length !== this.#count) throw new Error(`a request frame's event list holds ${payloads.length} events where its header names ${this.#count}`);
      this.#payloads = payloads;
    }
    return this.#payloads[index] as string;
  }
}

/** One event of a list: a WireEvent whose payload is read from the list's text when asked for. */
class ListedEvent implements WireEvent {
  readonly seq: number;
  readonly name: string;
  readonly now: number;
  readonly #payloads: ListPayloads;
  readonly #index: number;

  constructor(seq: number, name: string, now: number, payloads: ListPayloads, index: number) {
    this.seq = seq;
    this.name = name;
    this.now = now;
    this.#payloads = payloads;
    this.#index = index;
  }

  get payload(): string {
    return this.#payloads.at(this.#index);
  }

  /** The event as plain data (JSON.stringify would leave the payload out: it is not an own property). */
  toJSON(): WireEvent {
    return { seq: this.seq, name: this.name, payload: this.payload, now: this.now };
  }
}

/**
 * The events of a list line, `text` being the host's encoding of them (model/event-list-text.ts)
 * and `runs` their heads in order. The array is registered as that text's events, so the batch
 * for the isolate is the text itself; it is shared by every dispatch naming the list and must not
 * change. A count that does not match the text is found when a payload is first read.
 */
export function listedEvents(runs: readonly ListRun[], text: EventListText): readonly WireEvent[] {
  let count = 0;
  for (const run of runs) count += run[3];
  const payloads = new ListPayloads(text, count);
  const events = new Array<WireEvent>(count);
  let index = 0;
  for (const [seq, name, now, n] of runs) {
    for (let k = 0; k < n; k++, index++) events[index] = new ListedEvent(seq + k, name, now, payloads, index);
  }
  rememberEventList(events, text);
  return events;
}
