// Probe: what crossing to the sandbox process costs per event in encoding alone, piece by piece,
// for one 1000-event dispatch of the combat mod's attacks (finding 18): the payloads' JSON (which
// the naive loader pays too), the host's request frame, the event-list text a slot journals (alone,
// and after the frame, which since session 20 carries that text), and the sandbox's decode of the
// frame and its batch text for the isolate. CPU ns per event, after a
// warm-up; the pieces that need wire events are measured with making them and printed less it.
//
//   node benchmarks/probes/crossing-costs.js [engineDir] [reps]
//
// engineDir: a copy of engine/ (package.json + dist/) inside the workspace, or "engine" (default).
import { attackPayloads } from "../lib/fixtures.js";

const [engineDir = "engine", repsArg = "2000"] = process.argv.slice(2);
const reps = Number(repsArg);
const dist = new URL(`../../${engineDir}/dist/`, import.meta.url);
const { encodeRequestFrame, decodeRequestFrame } = await import(new URL("backends/request-frame.js", dist));
const { encodeEventList } = await import(new URL("model/event-list-text.js", dist));

const payloads = attackPayloads(10_000, 1000);
let seq = 0;
/** A fresh tick of wire events (new objects each time, as emitMany makes them). */
const wireEvents = () => {
  const now = Date.now();
  return payloads.map((p) => ({ seq: seq++, name: "attack", payload: JSON.stringify(p), now }));
};
/** CPU ns per event of `fn` (one 1000-event tick per call). */
const nsPerEvent = (fn) => {
  for (let i = 0; i < Math.min(200, reps); i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / reps / payloads.length;
};
const dispatch = (events) => [{ op: "dispatch", id: 1, body: { instance: "p1:combat#1", events, replay: false } }];

const making = nsPerEvent(wireEvents);
const frame = encodeRequestFrame(dispatch(wireEvents()));
const out = {
  node: process.version,
  engine: engineDir,
  payload_json_ns: nsPerEvent(() => payloads.map((p) => JSON.stringify(p))),
  wire_events_ns: making,
  request_frame_ns: nsPerEvent(() => encodeRequestFrame(dispatch(wireEvents()))) - making,
  journal_text_ns: nsPerEvent(() => encodeEventList(wireEvents(), 0)) - making,
  // The slot journals the events the frame just sent: since the frame carries their event-list
  // text (lists), the journal's text is the frame's (encodeEventList's last-list memo), not made again.
  frame_and_journal_ns: nsPerEvent(() => {
    const events = wireEvents();
    encodeRequestFrame(dispatch(events));
    encodeEventList(events, 0);
  }) - making,
  sandbox_decode_ns: nsPerEvent(() => decodeRequestFrame(frame)),
  sandbox_decode_and_batch_ns: nsPerEvent(() => encodeEventList(decodeRequestFrame(frame)[0].body.events, 0)),
};
for (const [k, v] of Object.entries(out)) if (typeof v === "number") out[k] = Math.round(v);
console.log(JSON.stringify(out));
