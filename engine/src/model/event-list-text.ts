import type { BatchRun } from "../../runtime/prelude-api.js";
import type { WireEvent } from "./wire.js";

/** Where a run's payloads begin: after its first seq, its name and its time. */
const RUN_HEAD = 3;

/**
 * Wire events as one JSON text, runs of events that share a name and a time and whose seqs follow
 * each other, `[[seq, name, now, payload, payload, ...], ...]` (capability records left out):
 * the batch a mod's prelude reads (sandbox/prelude-protocol.ts) and the form in which a slot's
 * journal keeps a run of events in memory (slot/slot-journal.ts). One string for a run of events
 * is one object for the garbage collector to copy while the run waits for a checkpoint, where
 * the events themselves are four each (the event, its payload, its time, the array's slot).
 */
export type EventListText = string;

/**
 * The events of the last list encoded (a copy of the caller's range) and its text. A tick sends
 * the same events (the same WireEvent objects: the host's queues, the journals and the sandbox's
 * request frame share them, and they are never changed) to every mod that handles them, and a
 * slot journals the events it just sent: the next list is most often this one, and gets this
 * one's text (one string for all of them) for a comparison of references.
 */
let lastEvents: readonly WireEvent[] = [];
let lastText: EventListText = "[]";

/** Are `events[from..to)` the very objects of `other`, in its order? */
export function sameEvents(events: readonly WireEvent[], from: number, to: number, other: readonly WireEvent[]): boolean {
  const count = to - from;
  if (count !== other.length) return false;
  for (let i = 0; i < count; i++) if (events[from + i] !== other[i]) return false;
  return true;
}

/**
 * Texts already known for whole lists of events: the sandbox process gets a dispatch's events as
 * the text the host encoded (backends/request-frame.ts) and registers it here with the events it
 * made of it, so that the batch for the isolate is that text, not written again.
 */
const knownTexts = new WeakMap<readonly WireEvent[], EventListText>();

/** Makes `text` the encoding of the whole of `events` (which must never change). */
export function rememberEventList(events: readonly WireEvent[], text: EventListText): void {
  knownTexts.set(events, text);
}

/** Encodes `events[from..to)` (to the end by default). */
export function encodeEventList(events: readonly WireEvent[], from: number, to = events.length): EventListText {
  if (from === 0 && to === events.length) {
    const known = knownTexts.get(events);
    if (known !== undefined) return known;
  }
  if (sameEvents(events, from, to, lastEvents)) return lastText;
  const text = encodeFresh(events, from, to);
  // A copy: the caller's array may be changed or hold much more (a replay's whole journal).
  lastEvents = events.slice(from, to);
  lastText = text;
  return text;
}

function encodeFresh(events: readonly WireEvent[], from: number, to: number): EventListText {
  // One join of the pieces gives one flat string (what the copy into the isolate needs), with no
  // string made per event but a run's seq digits; a run's name and time are written once.
  const parts: (string | number)[] = new Array<string | number>((to - from) * 5 + 2);
  let k = 0;
  parts[k++] = "[";
  let name: string | undefined;
  let now = NaN;
  let head = "";
  let nextSeq = NaN;
  for (let i = from; i < to; i++) {
    const e = events[i] as WireEvent;
    if (e.name !== name || e.now !== now) {
      name = e.name;
      now = e.now;
      head = `,${JSON.stringify(name)},${now}`;
    } else if (e.seq === nextSeq) {
      // The same run: only its payload.
      nextSeq++;
      parts[k++] = ",";
      parts[k++] = e.payload;
      continue;
    }
    parts[k++] = i > from ? "],[" : "[";
    parts[k++] = e.seq;
    parts[k++] = head;
    parts[k++] = ",";
    // The payload is JSON text already: it goes in as it is.
    parts[k++] = e.payload;
    nextSeq = e.seq + 1;
  }
  parts[k++] = to > from ? "]]" : "]";
  parts.length = k;
  return parts.join("");
}

/**
 * The events of a text encodeEventList() wrote (in this process: it is not checked). A payload
 * comes back as JSON.stringify's text of its value: exactly the text it was sent with when that
 * was JSON.stringify's own (host/emit-tick.ts), which is all a journal's runs hold. Other JSON
 * would come back as its value's canonical text: spacing dropped, but also `-0` as `0` and a
 * number too large for a double as `null`, so such payloads must not be kept as a run.
 */
export function decodeEventList(text: EventListText): WireEvent[] {
  const runs = JSON.parse(text) as BatchRun[];
  const out: WireEvent[] = [];
  for (const run of runs) {
    const [seq, name, now] = run;
    for (let k = RUN_HEAD; k < run.length; k++) out.push({ seq: seq + k - RUN_HEAD, name, payload: JSON.stringify(run[k]), now });
  }
  return out;
}
