import type { CapabilityFunction } from "../host/host-options.js";
import type { CapabilityStub } from "./project-config.js";

/** One call a mod made to a stubbed capability. */
export interface StubCall {
  readonly permission: string;
  readonly args: readonly unknown[];
  readonly answer: unknown;
  /** When, in ms since the epoch. */
  readonly time: number;
}

/** Calls kept for `calls()`: the most recent ones. */
const KEPT_CALLS = 200;

/**
 * The capabilities of a project file as functions for ModHost: each answers its configured value
 * (a fresh copy, so a mod never shares an object with another call), records the call (the most
 * recent 200, and a count per permission) and reports it to `onCall` when the stub logs.
 */
export class CapabilityStubs {
  readonly #stubs: Readonly<Record<string, CapabilityStub>>;
  readonly #onCall: (call: StubCall) => void;
  readonly #calls: StubCall[] = [];
  readonly #counts = new Map<string, number>();

  constructor(stubs: Readonly<Record<string, CapabilityStub>>, onCall: (call: StubCall) => void) {
    this.#stubs = stubs;
    this.#onCall = onCall;
  }

  /** The functions to pass as ModHostOptions.capabilities. */
  functions(): Record<string, CapabilityFunction> {
    const out: Record<string, CapabilityFunction> = {};
    for (const [permission, stub] of Object.entries(this.#stubs)) {
      // The answer was parsed from JSON, so a JSON round trip is an exact, unshared copy.
      const answerJson = JSON.stringify(stub.answer ?? null);
      out[permission] = (...args: unknown[]): unknown => {
        const answer: unknown = JSON.parse(answerJson);
        const call: StubCall = { permission, args, answer, time: Date.now() };
        this.#calls.push(call);
        if (this.#calls.length > KEPT_CALLS) this.#calls.shift();
        this.#counts.set(permission, (this.#counts.get(permission) ?? 0) + 1);
        if (stub.log) this.#onCall(call);
        return answer;
      };
    }
    return out;
  }

  /** The most recent calls, oldest first. */
  calls(): readonly StubCall[] {
    return [...this.#calls];
  }

  /** How many calls each permission got. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}

/** One line for a call: `notify("p1", "hello") -> null`. */
export function formatStubCall(call: StubCall): string {
  const args = call.args.map((a) => truncate(JSON.stringify(a) ?? String(a), 80)).join(", ");
  return `${call.permission}(${args}) -> ${truncate(JSON.stringify(call.answer) ?? "undefined", 80)}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
