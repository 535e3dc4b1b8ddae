/**
 * The arena's wire protocol, shared by the server and the bot client: one JSON object per
 * WebSocket message, discriminated by `t`. Clients send `join` once, then actions; the server
 * answers `welcome`, then sends a `tick` snapshot every tick plus chat and system lines.
 */

/** What a player sees of another player (or of themselves). */
export interface PlayerView {
  readonly id: string;
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly hp: number;
  readonly alive: boolean;
}

/** An item lying on the grid. */
export interface LootView {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly name: string;
}

/** A step: each of dx and dy is -1, 0 or 1. */
export type Step = -1 | 0 | 1;

/** Messages a client sends. */
export type ClientMessage =
  | { readonly t: "join"; readonly name: string }
  | { readonly t: "move"; readonly dx: Step; readonly dy: Step }
  | { readonly t: "attack"; readonly target: string }
  | { readonly t: "pickup" }
  | { readonly t: "chat"; readonly text: string };

/** Messages the server sends. */
export type ServerMessage =
  | { readonly t: "welcome"; readonly id: string; readonly width: number; readonly height: number; readonly tickHz: number }
  | {
      readonly t: "tick";
      readonly tick: number;
      readonly you: PlayerView & { readonly weapon: string | null; readonly gold: number };
      readonly players: readonly PlayerView[];
      readonly loot: readonly LootView[];
    }
  | { readonly t: "chat"; readonly from: string; readonly text: string }
  | { readonly t: "system"; readonly text: string };

/** WebSocket close codes the server uses (4000-4999 is the application range). */
export const CLOSE_CODES = {
  /** The client left, or the server let a client go at the end of a session. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A message was not valid JSON of the protocol, or arrived out of order. */
  protocolError: 4000,
  /** The name asked for in `join` is in use. */
  nameTaken: 4001,
  /** The client sent more messages than the server accepts. */
  rateLimited: 4002,
} as const;

/** Limits the server enforces on clients. */
export const PROTOCOL_LIMITS = {
  /** Largest message, in bytes. */
  maxMessageBytes: 4096,
  /** Longest name. */
  maxNameLength: 24,
  /** Longest chat line accepted (the chat filter may cut it further). */
  maxChatLength: 200,
  /** Messages a client may send per second before it is disconnected. */
  maxMessagesPerSecond: 60,
} as const;
