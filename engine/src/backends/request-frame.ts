/**
 * The request frame (host to sandbox process): every request of one turn of the host's event
 * loop, run in order. The events of its dispatches travel once, in one table, and each dispatch
 * names its events by index: an event sent to a hundred mods has its payload written and read
 * once, and the sandbox's mods share the one copy. Both sides import this module.
 */
import type { CapabilityRecord, WireEvent } from "../model/wire.js";
import type { ReplayStep, RestoreRequest } from "../sandbox/sandbox-backend.js";
import type { SandboxRequest } from "./sandbox-protocol.js";

/** A dispatch as it travels: its events are indexes into the frame's event table. */
interface DispatchRef {
  readonly op: "dispatch";
  readonly id: number;
  readonly body: { readonly instance: string; readonly replay: boolean; readonly events: readonly number[] };
}

/** A restore as it travels: the events of its replay steps are indexes into the event table. */
interface RestoreRef {
  readonly op: "restore";
  readonly id: number;
  readonly body: Omit<RestoreRequest, "steps"> & { readonly steps: readonly (Exclude<ReplayStep, { kind: "events" }> | { readonly kind: "events"; readonly events: readonly number[] })[] };
}

/**
 * An event of the table, all but its payload: [seq, name, now], with the capability answers of a
 * retry or replay as a fourth element, and, as a fifth, the payload itself when its text holds a
 * line break (JSON.stringify never writes one, so only a payload read back from elsewhere could).
 */
type EventHead = readonly [seq: number, name: string, now: number, caps?: readonly CapabilityRecord[] | null, payload?: string];

/** One frame's header: the event table without payloads, and the requests. */
interface RequestFrameHeader {
  readonly events: readonly EventHead[];
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
  const index = new Map<WireEvent, number>();
  const heads: EventHead[] = [];
  // The header first, then one line per event: the pieces are joined once.
  const text: string[] = [""];
  const refOf = (event: WireEvent): number => {
    let at = index.get(event);
    if (at === undefined) {
      at = heads.length;
      index.set(event, at);
      const inline = event.payload.includes("\n");
      heads.push(inline ? [event.seq, event.name, event.now, event.caps ?? null, event.payload] : event.caps === undefined ? [event.seq, event.name, event.now] : [event.seq, event.name, event.now, event.caps]);
      text.push(inline ? "" : event.payload);
    }
    return at;
  };
  const header: RequestFrameHeader = {
    events: heads,
    requests: requests.map((r) => {
      if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: r.body.events.map(refOf) } };
      if (r.op !== "restore") return r;
      // A crash's restores replay the same recent events: each travels once for all of them.
      const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: step.events.map(refOf) } : step));
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
  if (lines.length !== header.events.length + 1) throw new Error(`the request frame has ${lines.length - 1} payload lines for ${header.events.length} events`);
  const events: WireEvent[] = header.events.map(([seq, name, now, caps, inline], i) => {
    const payload = inline ?? (lines[i + 1] as string);
    return caps === undefined || caps === null ? { seq, name, payload, now } : { seq, name, payload, now, caps };
  });
  const eventAt = (at: number): WireEvent => {
    const event = events[at];
    if (event === undefined) throw new Error(`the request frame names event ${at} of ${events.length}`);
    return event;
  };
  return header.requests.map((r) => {
    if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: r.body.events.map(eventAt) } };
    if (r.op !== "restore") return r;
    const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: step.events.map(eventAt) } : step));
    return { op: "restore", id: r.id, body: { ...r.body, steps } };
  });
}
