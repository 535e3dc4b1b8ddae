import { performance } from "node:perf_hooks";
import type { EmitResult, ModHost } from "modhost";
import type { ModEvents, ModResults } from "@modhost/sdk";
import { LatencyRecorder } from "./latency-recorder.js";
import { RESULT_PARSERS } from "./parse-mod-results.js";

/** When an event was emitted, relative to the hot patches. */
export type Phase = "before" | "during" | "after";

/** What the server gets back for an event: the mods' parsed result, or undefined (no valid answer). */
export type RuleOutcome<E extends keyof ModEvents> = (E extends keyof ModResults ? ModResults[E] : unknown) | undefined;

/** Counts of the events the server sent to the mods and what came back. */
export interface RulesCounters {
  /** Events given to `host.emit`. */
  readonly sent: number;
  /** Events `host.emit` answered with a result per mod (whether the mod succeeded or not). */
  readonly processed: number;
  /** Events that got no answer: a rejected emit, or no mod handling them. Must stay 0. */
  readonly lost: number;
  /** Events still waiting for their answer. */
  readonly pending: number;
  /** Failed results, by error code (a mod threw, hit a limit...). */
  readonly failed: Readonly<Record<string, number>>;
  /** Results that did not have the declared shape (ignored by the server). */
  readonly invalid: number;
}

/**
 * The server's side of the mods: a typed `emit` over the ModHost that counts every event sent and
 * every answer received, records each event's latency by phase, and parses every result before the
 * game uses it. A mod's failure never reaches the game as an exception: it is counted and skipped.
 */
export class ArenaRules {
  /** The phase recorded with the latency of each event emitted from now on. */
  phase: Phase = "before";
  readonly latency = new LatencyRecorder<Phase>();
  readonly #host: ModHost;
  readonly #log: (line: string) => void;
  readonly #failed: Record<string, number> = {};
  #sent = 0;
  #processed = 0;
  #lost = 0;
  #invalid = 0;

  constructor(host: ModHost, log: (line: string) => void) {
    this.#host = host;
    this.#log = log;
  }

  /** Sends an event to the mods; resolves with their parsed result. Never rejects. */
  async emit<E extends keyof ModEvents>(event: E, payload: ModEvents[E]): Promise<RuleOutcome<E>> {
    this.#sent++;
    const phase = this.phase;
    const start = performance.now();
    let results: EmitResult[];
    try {
      results = await this.#host.emit(event, payload);
    } catch (err) {
      this.#lost++;
      this.#log(`event "${event}" was not accepted: ${(err as Error).message}`);
      return undefined;
    }
    this.latency.record(phase, performance.now() - start);
    if (results.length === 0) {
      this.#lost++;
      this.#log(`no mod answered "${event}"`);
      return undefined;
    }
    this.#processed++;
    let outcome: RuleOutcome<E>;
    for (const result of results) {
      if (!result.ok) {
        const code = result.error?.code ?? "E_UNKNOWN";
        if ((this.#failed[code] = (this.#failed[code] ?? 0) + 1) <= 3) this.#log(`${result.mod} ${result.version} failed on "${event}": ${code} ${result.error?.message ?? ""}`);
        continue;
      }
      const parse = (RESULT_PARSERS as Partial<Record<string, (value: unknown) => unknown>>)[event];
      if (parse === undefined) continue; // an event whose result the game ignores
      const parsed = parse(result.value);
      if (parsed === undefined) {
        if (++this.#invalid <= 3) this.#log(`${result.mod} ${result.version} returned an invalid result for "${event}": ${JSON.stringify(result.value)?.slice(0, 200)}`);
        continue;
      }
      outcome = parsed as RuleOutcome<E>;
    }
    return outcome;
  }

  /** The counters so far. */
  counters(): RulesCounters {
    return { sent: this.#sent, processed: this.#processed, lost: this.#lost, pending: this.#sent - this.#processed - this.#lost, failed: { ...this.#failed }, invalid: this.#invalid };
  }
}
