import type { EmitResult, TickEvent } from "./mod-events.js";

/**
 * What a game declares to type its host: `ModHost.create<Game>()`. `events` maps each event name to
 * its payload, `results` (optional) maps event names to what the mods' handlers return: the same
 * shapes as @modhost/sdk's `ModEvents` and `ModResults`, so a game that declares those for its mods
 * can type its host with them: `ModHost.create<{ events: ModEvents; results: ModResults }>(...)`.
 */
export interface GameTypes {
  readonly events: object;
  readonly results?: object;
}

/** The default: any event name, any payload, results of unknown type (the untyped host). */
export interface UntypedGame {
  readonly events: Record<string, unknown>;
  readonly results: Record<string, unknown>;
  /** Marks the untyped host, whose emit keeps its plain `(event: string, payload?: unknown)` form. */
  readonly untyped: true;
}

/** `string` on an untyped host (any event name goes), `never` on a typed one. */
export type UntypedEventName<G extends GameTypes> = G extends { readonly untyped: true } ? string : never;

/**
 * An event name the game declares; any string for an untyped host or when `events` declares none
 * (as @modhost/sdk's `EventName` while `ModEvents` is empty).
 */
export type GameEventName<G extends GameTypes> = keyof G["events"] extends never ? string : Extract<keyof G["events"], string>;

/** The payload of event `E`. */
export type GamePayload<G extends GameTypes, E extends string> = E extends keyof G["events"] ? G["events"][E] : unknown;

/** What a handler of event `E` returns, as declared in the game's `results` (unknown when undeclared). */
export type GameResult<G extends GameTypes, E extends string> = G extends { readonly results: infer R } ? (E extends keyof R ? R[E] : unknown) : unknown;

/** The payload argument of `emit`: optional when the payload may be undefined (or is untyped). */
export type GamePayloadArgs<G extends GameTypes, E extends string> = undefined extends GamePayload<G, E> ? [payload?: GamePayload<G, E>] : [payload: GamePayload<G, E>];

/**
 * One event of a typed host's tick: a declared event name with its payload, as `emit` takes them
 * (a union over the game's events; the payload may be left out where it may be undefined).
 */
export type GameTickEvent<G extends GameTypes> = {
  [E in GameEventName<G>]: { readonly event: E } & (undefined extends GamePayload<G, E> ? { readonly payload?: GamePayload<G, E> } : { readonly payload: GamePayload<G, E> });
}[GameEventName<G>];

/** What a typed host's emitMany(ticks) resolves with: per event of the tick, its results typed by the game. */
export type GameTickResults<G extends GameTypes, T extends readonly GameTickEvent<G>[]> = {
  -readonly [K in keyof T]: EmitResult<T[K] extends { readonly event: infer E extends string } ? GameResult<G, E> : unknown>[];
};

/** Any tick event on an untyped host, `never` on a typed one (whose emitMany takes GameTickEvent). */
export type UntypedTickEvent<G extends GameTypes> = G extends { readonly untyped: true } ? TickEvent : never;
