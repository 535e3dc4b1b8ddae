import type { CapabilityFunction } from "modhost";

/** One call a mod made to a capability, with its arguments as the game received them. */
export interface CapabilityCall {
  readonly permission: string;
  readonly args: readonly unknown[];
}

/**
 * Builds the capability functions given to the host: the test's own, and a stub for each permission
 * the mod asks for that the test did not provide (it returns undefined). Every call is recorded, in
 * order, in `calls`. (A replay after a fault answers from the engine's journal: no call is recorded twice.)
 */
export class CapabilityRecorder {
  readonly calls: CapabilityCall[] = [];
  readonly functions: Readonly<Record<string, CapabilityFunction>>;

  constructor(provided: Readonly<Record<string, CapabilityFunction>>, permissions: readonly string[]) {
    const functions: Record<string, CapabilityFunction> = {};
    for (const permission of new Set([...Object.keys(provided), ...permissions])) {
      const fn = provided[permission];
      functions[permission] = (...args: never[]): unknown => {
        this.calls.push({ permission, args: [...(args as unknown[])] });
        return fn === undefined ? undefined : fn(...args);
      };
    }
    this.functions = functions;
  }

  /** Returns the calls recorded so far and forgets them. */
  take(): CapabilityCall[] {
    return this.calls.splice(0, this.calls.length);
  }
}
