/**
 * The request frame (host to sandbox process): every request of one turn of the host's event
 * loop, run in order. A dispatch's events travel as a list line: the event-list text the isolate
 * reads as its batch (model/event-list-text.ts), which the host encodes once for the frame and
 * its journal and the sandbox passes on as it is; dispatches naming the same events name the same
 * line, so an event sent to a hundred mods is written and read once. Events a list cannot carry
 * (with capability answers, or a payload holding a line break) and a crash's replays travel in the
 * frame's event table instead, each dispatch or replay naming ranges of it. Both sides import
 * this module.
 */
import { encodeEventList, sameEvents } from "../model/event-list-text.js";
import type { CapabilityRecord, WireEvent } from "../model/wire.js";
import { listedEvents, type ListRun } from "./listed-events.js";
import type { ReplayStep, RestoreRequest } from "../sandbox/sandbox-backend.js";
import type { SandboxRequest } from "./sandbox-protocol.js";

/**
 * Which events of the table a dispatch or replay step names, as ranges: `[first, count, first,
 * count, ...]`. A tick's events enter the table in order, so a mod's share is most often one range.
 */
type EventRefs = readonly number[];

/** A dispatch as it travels: its events are one of the frame's lists, or ranges of its event table. */
interface DispatchRef {
  readonly op: "dispatch";
  readonly id: number;
  readonly body: { readonly instance: string; readonly replay: boolean } & ({ readonly list: number } | { readonly events: EventRefs });
}

/** A restore as it travels: the events of its replay steps are ranges of the event table. */
interface RestoreRef {
  readonly op: "restore";
  readonly id: number;
  readonly body: Omit<RestoreRequest, "steps"> & { readonly steps: readonly (Exclude<ReplayStep, { kind: "events" }> | { readonly kind: "events"; readonly events: EventRefs })[] };
}

/**
 * A run of the event table, all but its payloads: `[seq, name, now, count]` is `count` events
 * seq, seq + 1, ... with that name and time, whose payloads are the next `count` payload lines.
 * An event with the capability answers of a retry or replay, or whose payload text holds a line
 * break (JSON.stringify never writes one, so only a payload read back from elsewhere could), is a
 * run of its own with them: `[seq, name, now, 1, caps | null, payload?]` (its payload line empty).
 * A tick is then one run, where an array per event was most of the header's JSON.
 */
type TableRun = [seq: number, name: string, now: number, count: number, caps?: readonly CapabilityRecord[] | null, payload?: string];

/** Does `event` extend `run` (same name and time, the next seq)? The one rule of the lists' runs and the table's. */
function extendsRun<R extends readonly [seq: number, name: string, now: number, count: number, ...rest: unknown[]]>(run: R | undefined, event: WireEvent): run is R {
  return run !== undefined && run[1] === event.name && run[2] === event.now && run[0] + run[3] === event.seq;
}

/**
 * One frame's header: the runs of each list (its events' heads; the list's text is its line), the
 * event table without payloads, and the requests. The lines after the header are the lists' texts,
 * then the table's payloads.
 */
interface RequestFrameHeader {
  readonly lists?: readonly (readonly ListRun[])[];
  readonly events: readonly TableRun[];
  readonly requests: readonly (Exclude<SandboxRequest, { op: "dispatch" | "restore" }> | DispatchRef | RestoreRef)[];
}

/**
 * Encodes requests as one frame's text: the header's JSON, a line per list (a fresh dispatch's
 * events as the event-list text the isolate reads, written once for every dispatch naming the
 * same events), then for each event of the table a line holding its payload's JSON text as it is.
 * A payload is JSON text already: written into the header it would be escaped here and unescaped
 * by the sandbox, so it travels unescaped and the sandbox parses only the header; a list's text
 * goes to the isolate untouched. Events shared by several dispatches (one object) are written once.
 * A restore's replayed events (a crash, a recovery) and a dispatch marked replay travel in the
 * table, as do events with capability answers or a payload holding a line break, and a dispatch
 * sharing events with a list written before (another mod's share of the same tick, say).
 * Payloads are JSON.stringify's text
 * (host/emit-tick.ts) or journal text read back as UTF-8: neither holds a lone surrogate, which
 * the UTF-8 framing would turn into U+FFFD (escaped in the header's JSON, it would survive).
 */
export function encodeRequestFrame(requests: readonly SandboxRequest[]): string {
  const lists: ListRun[][] = [];
  const listLines: string[] = [];
  /** The events of each list, in the order of `lists`. */
  const listed: (readonly WireEvent[])[] = [];
  /** The lowest and highest seq of each list, in the same order: `[low, high, low, high, ...]`. */
  const spans: number[] = [];
  /**
   * The list of a dispatch's events: one written before (the last one most often), or a new one.
   * Undefined when a list cannot carry them, or when they may share events with a list written
   * before (their seqs overlap): mods given different shares of a tick then name ranges of the
   * table, so each payload is written at most twice (in a list and the table), not once per mod.
   */
  const listOf = (events: readonly WireEvent[]): number | undefined => {
    const last = listed.length - 1;
    if (last >= 0 && sameEvents(events, 0, events.length, listed[last] as readonly WireEvent[])) return last;
    for (let i = 0; i < last; i++) {
      const other = listed[i] as readonly WireEvent[];
      if (other[0] === events[0] && sameEvents(events, 0, events.length, other)) return i;
    }
    const runs: [seq: number, name: string, now: number, count: number][] = [];
    let open: [seq: number, name: string, now: number, count: number] | undefined;
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as WireEvent;
      if (event.caps !== undefined || event.payload.includes("\n")) return undefined;
      if (extendsRun(open, event)) open[3]++;
      else runs.push((open = [event.seq, event.name, event.now, 1]));
      if (event.seq < low) low = event.seq;
      if (event.seq > high) high = event.seq;
    }
    for (let i = 0; i < spans.length; i += 2) if (low <= (spans[i + 1] as number) && (spans[i] as number) <= high) return undefined;
    spans.push(low, high);
    lists.push(runs);
    // The slot journals these very events next: encodeEventList gives it this text again (when
    // no other list was encoded in between: it keeps the last one).
    listLines.push(encodeEventList(events, 0));
    listed.push(events);
    return lists.length - 1;
  };
  /** The table's events, in order. */
  const table: WireEvent[] = [];
  /**
   * Each table event's place, made only when a dispatch names events the table may hold already
   * and are not the previous dispatch's: a frame of one dispatch, or of many mods given the same
   * tick, never needs it (a Map entry per event was a third of the frame's encoding).
   */
  let index: Map<WireEvent, number> | undefined;
  const runs: TableRun[] = [];
  /** The run the next event may join (undefined after an event that is a run of its own). */
  let open: TableRun | undefined;
  // The header first, then one line per event: the pieces are joined once.
  const text: string[] = [""];
  const add = (event: WireEvent): number => {
    const inline = event.payload.includes("\n");
    const caps = event.caps;
    if (inline || caps !== undefined) {
      runs.push(inline ? [event.seq, event.name, event.now, 1, caps ?? null, event.payload] : [event.seq, event.name, event.now, 1, caps as readonly CapabilityRecord[]]);
      open = undefined;
      text.push(inline ? "" : event.payload);
    } else if (extendsRun(open, event)) {
      open[3]++;
      text.push(event.payload);
    } else {
      open = [event.seq, event.name, event.now, 1];
      runs.push(open);
      text.push(event.payload);
    }
    index?.set(event, table.length);
    table.push(event);
    return table.length - 1;
  };
  /** The events of the last refsOf() and their ranges: the next dispatch most often names the same ones. */
  let lastEvents: readonly WireEvent[] = [];
  let lastRefs: EventRefs = [];
  const refsOf = (events: readonly WireEvent[]): EventRefs => {
    if (sameEvents(events, 0, events.length, lastEvents)) return lastRefs;
    const refs: number[] = [];
    if (table.length === 0) {
      // Nothing to share yet: each event is new, and their places follow each other.
      for (let i = 0; i < events.length; i++) add(events[i] as WireEvent);
      if (events.length > 0) refs.push(0, events.length);
    } else {
      if (index === undefined) {
        index = new Map<WireEvent, number>();
        for (let i = 0; i < table.length; i++) if (!index.has(table[i] as WireEvent)) index.set(table[i] as WireEvent, i);
      }
      for (const event of events) {
        const at = index.get(event) ?? add(event);
        const last = refs.length - 2;
        // Extends the last range when this event follows it in the table.
        if (last >= 0 && (refs[last] as number) + (refs[last + 1] as number) === at) refs[last + 1] = (refs[last + 1] as number) + 1;
        else refs.push(at, 1);
      }
    }
    lastEvents = events;
    lastRefs = refs;
    return refs;
  };
  const travelling: RequestFrameHeader["requests"] = requests.map((r) => {
    if (r.op === "dispatch") {
      const { instance, replay, events } = r.body;
      const list = replay ? undefined : listOf(events);
      return { op: "dispatch", id: r.id, body: list !== undefined ? { instance, replay, list } : { instance, replay, events: refsOf(events) } };
    }
    if (r.op !== "restore") return r;
    // A crash's restores replay the same recent events: each travels once for all of them.
    const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: refsOf(step.events) } : step));
    return { op: "restore", id: r.id, body: { ...r.body, steps } };
  });
  // The lists are known once every request is: the header, then their lines, then the table's.
  if (lists.length === 0) text[0] = JSON.stringify({ events: runs, requests: travelling } satisfies RequestFrameHeader);
  else text[0] = `${JSON.stringify({ lists, events: runs, requests: travelling } satisfies RequestFrameHeader)}\n${listLines.join("\n")}`;
  return text.join("\n");
}

/**
 * The requests of a frame, each dispatch with its events (shared objects, read-only). A list's
 * events read their payloads from its text only if asked (backends/listed-events.ts), and the
 * text is their batch for the isolate. The host is trusted: only a reference outside the table or
 * the lists is checked, since it would be read as no event.
 */
export function decodeRequestFrame(text: string): SandboxRequest[] {
  const lines = text.split("\n");
  const header = JSON.parse(lines[0] as string) as RequestFrameHeader;
  const lists = (header.lists ?? []).map((runs, i) => listedEvents(runs, lines[1 + i] ?? ""));
  /** The line of the table's first payload. */
  const first = 1 + lists.length;
  const events: WireEvent[] = [];
  for (const [seq, name, now, count, caps, inline] of header.events) {
    if (count === 1 && (caps !== undefined || inline !== undefined)) {
      const payload = inline ?? (lines[first + events.length] as string);
      events.push(caps === undefined || caps === null ? { seq, name, payload, now } : { seq, name, payload, now, caps });
      continue;
    }
    for (let k = 0; k < count; k++) events.push({ seq: seq + k, name, payload: lines[first + events.length] as string, now });
  }
  if (lines.length !== first + events.length) throw new Error(`the request frame has ${lines.length - 1} lines for ${lists.length} lists and ${events.length} events`);
  const eventsOf = (refs: EventRefs): WireEvent[] => {
    const out: WireEvent[] = [];
    for (let r = 0; r < refs.length; r += 2) {
      const first = refs[r] as number;
      const count = refs[r + 1] as number;
      if (!(first >= 0 && count >= 0 && first + count <= events.length)) throw new Error(`the request frame names events ${first} to ${first + count - 1} of ${events.length}`);
      for (let k = 0; k < count; k++) out.push(events[first + k] as WireEvent);
    }
    return out;
  };
  return header.requests.map((r) => {
    if (r.op === "dispatch") {
      const body = r.body;
      if (!("list" in body)) return { op: "dispatch", id: r.id, body: { instance: body.instance, replay: body.replay, events: eventsOf(body.events) } };
      const listed = lists[body.list];
      if (listed === undefined) throw new Error(`the request frame names list ${body.list} of ${lists.length}`);
      return { op: "dispatch", id: r.id, body: { instance: body.instance, replay: body.replay, events: listed } };
    }
    if (r.op !== "restore") return r;
    const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: eventsOf(step.events) } : step));
    return { op: "restore", id: r.id, body: { ...r.body, steps } };
  });
}
