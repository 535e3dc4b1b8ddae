/**
 * @modhost/sdk: what mod authors import. `defineMod` is an identity function that gives handlers
 * their types; the game declares its events, their results and its capabilities once, by
 * augmenting `ModEvents`, `ModResults` and `ModCapabilities`:
 *
 * ```ts
 * export {};
 * declare module "@modhost/sdk" {
 *   interface ModEvents { hit: { player: string; damage: number } }
 *   interface ModResults { hit: number }
 *   interface ModCapabilities { broadcast(message: string): void }
 * }
 * ```
 *
 * Then, in a mod:
 *
 * ```ts
 * export default defineMod<State, "broadcast">({
 *   on: { hit(state, e, ctx) { ctx.host.broadcast(`${e.player} hit`); return e.damage; } },
 * });
 * ```
 *
 * This file must stay one self-contained declaration file once compiled (no relative imports):
 * the engine type-checks every mod against `dist/index.d.ts` turned into an ambient module, and
 * inside an isolate `@modhost/sdk` is a synthetic module whose only value export is `defineMod`.
 * So everything here but `defineMod` is a type.
 */

/** Plain data: what crosses the sandbox boundary (state, payloads, results, arguments). */
export type PlainData = null | boolean | number | string | PlainData[] | { [key: string]: PlainData };

/**
 * Events the game dispatches, by name, with their payload types. Augment it in the game's types.
 * While it is empty, handlers may have any name and payloads are `unknown`; once it declares an
 * event, a handler for an undeclared event is a compile error.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModEvents {}

/**
 * What the game expects back from each event's handler, by event name. Optional: for an event
 * not listed here a handler may return any plain data (or nothing), never a Promise.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModResults {}

/**
 * Functions the game offers, by permission name. Augment it in the game's types. A mod gets a
 * capability only if its mod.json asks for the permission and the operator grants it.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ModCapabilities {}

/** The name of an event the game declares (any string while `ModEvents` is empty). */
export type EventName = keyof ModEvents extends never ? string : Extract<keyof ModEvents, string>;

/** The payload type of event `E` (`unknown` for an event the game did not declare). */
export type EventPayload<E extends string> = E extends keyof ModEvents ? ModEvents[E] : unknown;

/**
 * What a handler may return when the game declared no result for its event: plain data or
 * nothing. A Promise (an `async` handler) is refused here, as the sandbox refuses it at run time.
 */
export type HandlerResult = void | undefined | null | boolean | number | string | readonly unknown[] | NotThenable;

/**
 * Any object without a `then` member. (The index signature's `any` is what lets interfaces in:
 * an interface is not assignable to `{ [key: string]: unknown }`.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NotThenable = { readonly then?: never; readonly [key: string]: any };

/** What a handler of event `E` must return: `ModResults[E]` when declared, else a `HandlerResult`. */
export type EventResult<E extends string> = E extends keyof ModResults ? ModResults[E] : HandlerResult;

/** A permission name: a key of `ModCapabilities`. */
export type CapabilityName = Extract<keyof ModCapabilities, string>;

/**
 * `ctx.host` of a mod that asks for `Permissions`: exactly those capabilities, callable. A mod that
 * does not say what it asks for (`Permissions` left at `never`) sees every capability as
 * optional, since the host object only holds what mod.json asks for and the operator granted.
 * While the game declares no capabilities, any name may be tried (`ctx.host.roll?.(6)`), and
 * what it returns is `unknown`.
 */
export type ModHostApi<Permissions extends CapabilityName = never> = keyof ModCapabilities extends never
  ? { readonly [permission: string]: ((...args: readonly unknown[]) => unknown) | undefined }
  : [Permissions] extends [never]
    ? Partial<ModCapabilities>
    : { readonly [P in Permissions]: ModCapabilities[P] };

/** What a handler gets besides its state and payload. */
export interface ModContext<Permissions extends CapabilityName = never> {
  /**
   * The capabilities granted to this mod. Typed by the permissions given to
   * `defineMod<State, Permissions>`; without them every capability is optional.
   */
  readonly host: ModHostApi<Permissions>;
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
export type Handler<State, Payload, Result = HandlerResult, Permissions extends CapabilityName = never> = {
  handle(state: State, payload: Payload, ctx: ModContext<Permissions>): Result;
}["handle"];

/**
 * Handlers by event name: typed by `ModEvents` (payloads) and `ModResults` (results) when the game
 * declares them, open otherwise. With `ModEvents` declared, an unknown event name is an error.
 */
export type Handlers<State, Permissions extends CapabilityName = never> = keyof ModEvents extends never
  ? { readonly [event: string]: Handler<State, unknown, HandlerResult, Permissions> }
  : { readonly [E in Extract<keyof ModEvents, string>]?: Handler<State, ModEvents[E], EventResult<E>, Permissions> };

/** A mod: how to make its first state, how to carry an older version's state over, its handlers. */
export interface ModDefinition<State, Permissions extends CapabilityName = never> {
  /** Creates the first state (default `{}`). Runs once, when the mod first loads. */
  readonly init?: () => State;
  /**
   * Turns the state of the version being replaced into this version's state. Needed when the
   * state's type changes; `old` is whatever the previous version kept, so check it before use.
   */
  readonly migrate?: (old: unknown, fromVersion: string) => State;
  /** The event handlers, by event name. */
  readonly on?: Handlers<State, Permissions>;
}

/**
 * Declares a mod. An identity function: it exists so that TypeScript can infer the handlers'
 * types. `State` is the state's type; `Permissions` (optional) lists the capabilities the mod's
 * mod.json asks for, which makes them callable on `ctx.host` and every other one a type error.
 */
export function defineMod<State, Permissions extends CapabilityName = never>(
  definition: ModDefinition<State, Permissions>,
): ModDefinition<State, Permissions> {
  return definition;
}
