/**
 * The request frame (host to sandbox process): every request of one turn of the host's event
 * loop, run in order. The events of its dispatches travel once, in one table, and each dispatch
 * names its events by index: an event sent to a hundred mods has its payload escaped, written and
 * parsed once, and the sandbox's mods share the one parsed copy. Both sides import this module.
 */
import type { WireEvent } from "../model/wire.js";
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

/** One frame's JSON: the event table and the requests. */
interface RequestFrame {
  readonly events: readonly WireEvent[];
  readonly requests: readonly (Exclude<SandboxRequest, { op: "dispatch" | "restore" }> | DispatchRef | RestoreRef)[];
}

/** Encodes requests as one frame's JSON; events shared by several dispatches (one object) are written once. */
export function encodeRequestFrame(requests: readonly SandboxRequest[]): string {
  const index = new Map<WireEvent, number>();
  const events: WireEvent[] = [];
  const refOf = (event: WireEvent): number => {
    let at = index.get(event);
    if (at === undefined) {
      at = events.length;
      index.set(event, at);
      events.push(event);
    }
    return at;
  };
  const frame: RequestFrame = {
    events,
    requests: requests.map((r) => {
      if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: r.body.events.map(refOf) } };
      if (r.op !== "restore") return r;
      // A crash's restores replay the same recent events: each travels once for all of them.
      const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: step.events.map(refOf) } : step));
      return { op: "restore", id: r.id, body: { ...r.body, steps } };
    }),
  };
  return JSON.stringify(frame);
}

/**
 * The requests of a frame, each dispatch with its events (shared objects, read-only). The host is
 * trusted: only a reference outside the table is checked, since it would be read as no event.
 */
export function decodeRequestFrame(json: string): SandboxRequest[] {
  const frame = JSON.parse(json) as RequestFrame;
  const eventAt = (at: number): WireEvent => {
    const event = frame.events[at];
    if (event === undefined) throw new Error(`the request frame names event ${at} of ${frame.events.length}`);
    return event;
  };
  return frame.requests.map((r) => {
    if (r.op === "dispatch") return { op: "dispatch", id: r.id, body: { instance: r.body.instance, replay: r.body.replay, events: r.body.events.map(eventAt) } };
    if (r.op !== "restore") return r;
    const steps = r.body.steps.map((step) => (step.kind === "events" ? { kind: "events" as const, events: step.events.map(eventAt) } : step));
    return { op: "restore", id: r.id, body: { ...r.body, steps } };
  });
}
