/** The operator's caps on capability calls (host options `limits.capability*`). */
export interface CapabilityLimits {
  /** A game function that takes longer fails the call (E_CAPABILITY_FAILED); the time is the game's. */
  readonly timeoutMs: number;
  /** Calls one event may make; the next fails with E_CAPABILITY_LIMIT, and so does every later one. */
  readonly callsPerEvent: number;
  /** Largest answer of one call, in characters of JSON; a bigger one is the game's fault. */
  readonly answerBytes: number;
  /** Answer characters one event may collect (they are journaled with the event). */
  readonly bytesPerEvent: number;
}
