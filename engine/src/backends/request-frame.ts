/**
 * The request frame (host to sandbox process): every request of one turn of the host's event
 * loop, run in order. The events of its dispatches travel once, in one table, and each dispatch
 * names ranges of it: an event sent to a hundred mods has its payload written and read once, and
 * the sandbox's mods share the one copy. Both sides import this module.
 */
import { sameEvents } from "../model/event-list-text.js";
import type { CapabilityRecord, WireEvent } from "../model/wire.js";
import type { ReplayStep, RestoreRequest } from "../sandbox/sandbox-backend.js";
import type { SandboxRequest } from "./sandbox-protocol.js";

/**
 * Which events of the table a dispatch or replay step names, as ranges: `[first, count, first,
 * count, ...]`. A tick's events enter the table in order, so a mod's share is most often one range.
 */
type EventRefs = readonly number[];

/** A dispatch as it travels: its events are ranges of the frame's event table. */
interface DispatchRef {
  readonly op: "dispatch";
  readonly id: number;
  readonly body: { readonly instance: string; readonly replay: boolean; readonly events: EventRefs };
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

/** One frame's header: the event table without payloads, and the requests. */
interface RequestFrameHeader {
  readonly events: readonly TableRun[];
  readonly requests: readonly (Exclude<SandboxRequest, { op: "dispatch" | "restore" }> | DispatchRef | RestoreRef)[];
}

/**
 * Encodes requests as one frame's text: the header's JSON, then for each event of the table a
 * line holding its payload's JSON text as it is. A payload is JSON text already: written into the
 * header it would be escaped here and unescaped by the sandbox, which then only copies it into
 * the prelude's batch (sandbox/prelude-protocol.ts), so it travels unescaped and the sandbox
 * parses only the header. Events shared by several dispatches (one object) are written once.
 * Payloads are JSON.stringify's text (host/emit-tick.ts) or journal text read back as UTF-8:
 * neither holds a lone surrogate, which the UTF-8 framing would turn into U+FFFD (escaped in the
 * header's JSON, it would survive).
 */
export function encodeRequestFrame(requests: readonly SandboxRequest[]): string {
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
    } else if (open !== undefined && open[1] === event.name && open[2] === event.now && open[0] + open[3] === event.seq) {
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
  const header: RequestFrameHeader = {
    events: runs,
    requests: requests.map((r) => {
      if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: refsOf(r.body.events) } };
      if (r.op !== "restore") return r;
      // A crash's restores replay the same recent events: each travels once for all of them.
      const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: refsOf(step.events) } : step));
      return { op: "restore", id: r.id, body: { ...r.body, steps } };
    }),
  };
  text[0] = JSON.stringify(header);
  return text.join("\n");
}

/**
 * The requests of a frame, each dispatch with its events (shared objects, read-only). The host is
 * trusted: only a reference outside the table is checked, since it would be read as no event.
 */
export function decodeRequestFrame(text: string): SandboxRequest[] {
  const lines = text.split("\n");
  const header = JSON.parse(lines[0] as string) as RequestFrameHeader;
  const events: WireEvent[] = [];
  for (const [seq, name, now, count, caps, inline] of header.events) {
    if (count === 1 && (caps !== undefined || inline !== undefined)) {
      const payload = inline ?? (lines[events.length + 1] as string);
      events.push(caps === undefined || caps === null ? { seq, name, payload, now } : { seq, name, payload, now, caps });
      continue;
    }
    for (let k = 0; k < count; k++) events.push({ seq: seq + k, name, payload: lines[events.length + 1] as string, now });
  }
  if (lines.length !== events.length + 1) throw new Error(`the request frame has ${lines.length - 1} payload lines for ${events.length} events`);
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
    if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: eventsOf(r.body.events) } };
    if (r.op !== "restore") return r;
    const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: eventsOf(step.events) } : step));
    return { op: "restore", id: r.id, body: { ...r.body, steps } };
  });
}
