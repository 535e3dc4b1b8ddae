/**
 * @modhost/sdk: what mod authors import. `defineMod` is an identity function that gives handlers
 * their types; the game declares its events and capabilities by augmenting `ModEvents` and
 * `ModCapabilities`:
 *
 * ```ts
 * declare module "@modhost/sdk" {
 *   interface ModEvents { hit: { player: string; damage: number } }
 *   interface ModCapabilities { broadcast(message: string): void }
 * }
 * ```
 */

/** Plain data: what crosses the sandbox boundary (state, payloads, results, arguments). */
export type PlainData = null | boolean | number | string | PlainData[] | { [key: string]: PlainData };

/** Events the game dispatches, by name, with their payload types. Augment it in the game's types. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModEvents {}

/** Functions the game offers, by permission name. Augment it in the game's types. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModCapabilities {}

/** What a handler gets besides its state and payload. */
export interface ModContext {
  /** The capabilities granted to this mod (only those its mod.json asks for are present). */
  readonly host: Partial<ModCapabilities>;
  /** The logical time of the event being handled (ms since the epoch); Date.now() gives the same. */
  now(): number;
  /** A deterministic random number in [0, 1); Math.random() gives the same sequence. */
  random(): number;
  /** Logs a line to the host's log (as console.log does). */
  log(...args: unknown[]): void;
  /** This mod's name and version. */
  readonly mod: { readonly name: string; readonly version: string };
}

/**
 * A handler: mutates `state` in place and returns plain data (or nothing). Must be synchronous.
 * Declared through a method so that its parameters are checked bivariantly: a handler may annotate
 * its payload (`e: { player: string }`) where the game has not declared the event's type.
 */
export type Handler<State, Payload> = {
  handle(state: State, payload: Payload, ctx: ModContext): unknown;
}["handle"];

/** Handlers by event name: typed by ModEvents when the game declares it, open otherwise. */
export type Handlers<State> = keyof ModEvents extends never
  ? { readonly [event: string]: Handler<State, unknown> }
  : { readonly [E in keyof ModEvents]?: Handler<State, ModEvents[E]> };

/** A mod: how to make its first state, how to carry an older version's state over, its handlers. */
export interface ModDefinition<State> {
  /** Creates the first state (default `{}`). Runs once, when the mod first loads. */
  readonly init?: () => State;
  /** Turns the state of the version being replaced into this version's state. */
  readonly migrate?: (old: unknown, fromVersion: string) => State;
  readonly on?: Handlers<State>;
}

/** Declares a mod. An identity function: it exists so that TypeScript can infer the handlers' types. */
export function defineMod<State>(definition: ModDefinition<State>): ModDefinition<State> {
  return definition;
}
