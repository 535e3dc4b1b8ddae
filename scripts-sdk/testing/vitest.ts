/**
 * @modhost/sdk/testing/vitest: matchers for results of modhost (an emit result, the array
 * `host.emit` resolves with, a swap report). Importing this module registers them with vitest's
 * `expect` and types them:
 *
 * ```ts
 * import "@modhost/sdk/testing/vitest";
 * expect(await mod.emit("hit", { player: "ann" })).toBeOk();
 * expect(await mod.patch({ "main.ts": broken })).toFailWith("E_SYNTAX");
 * ```
 * A failure prints the error's code, message, `file:line:col` and stack, which
 * `toMatchObject({ ok: true })` hides behind a diff of the whole object.
 */
import { expect } from "vitest";
import { describeOutcome, isOk, outcomeError, type Outcome } from "./outcome.js";

/** The matchers this module adds to vitest's `expect`. */
export interface ModhostMatchers<R = unknown> {
  /** Passes for `{ ok: true }` (or an array of them, as `host.emit` resolves with); fails showing the error. */
  toBeOk(): R;
  /** Passes for `{ ok: false, error: { code } }` with this code (an array: any of its results). */
  toFailWith(code: string): R;
}

declare module "vitest" {
  // Declaration merging needs vitest's own type parameter list (`T = any`), hence the disable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends ModhostMatchers<T> {}
}

expect.extend({
  toBeOk(received: unknown) {
    const pass = isOk(received);
    return {
      pass,
      message: () => (pass ? `expected a failure, got ok: ${describeOutcome(received as Outcome)}` : `expected ok, got ${describeOutcome(received as Outcome)}`),
    };
  },
  toFailWith(received: unknown, code: string) {
    const error = outcomeError(received, code);
    const pass = error !== undefined && error.code === code;
    return {
      pass,
      message: () => (pass ? `expected no ${code}, got ${describeOutcome(received as Outcome)}` : `expected a failure with ${code}, got ${describeOutcome(received as Outcome)}`),
    };
  },
});
