import WebSocket from "ws";
import { closeSocket } from "./close-socket.js";
import { parseServerMessage } from "./parse-server-message.js";
import { CLOSE_CODES, type ClientMessage, type LootView, type PlayerView, type ServerMessage, type Step } from "./protocol.js";
import { Random } from "./random.js";

/** Options of `Bot.connect`. */
export interface BotOptions {
  readonly url: string;
  readonly name: string;
  /** Seed of the bot's decisions. */
  readonly seed: number;
  /** Act on every n-th tick (default 4: five actions a second at 20 Hz). */
  readonly actEveryTicks?: number;
  /** Ticks between two chat lines, on average (default 60: every 3 s at 20 Hz). */
  readonly chatEveryTicks?: number;
  /** Time to wait for the server's welcome (default 10 s). */
  readonly joinTimeoutMs?: number;
}

/** What a bot did and saw. */
export interface BotStats {
  /** Action messages sent (everything but `join`). */
  sent: number;
  moves: number;
  attacks: number;
  pickups: number;
  chats: number;
  ticksSeen: number;
  chatSeen: number;
  systemSeen: number;
}

/** How a bot's connection ended without the bot closing it. */
export interface Disconnect {
  readonly code: number;
  readonly reason: string;
}

const LINES = [
  "gg",
  "anyone near the middle?",
  "this sword is great",
  "nice hit!",
  "lol noob",
  "heck, missed again",
  "who has potions?",
  "you are such a loser",
  "watch out behind you",
  "darn it",
];

/**
 * A player bot: a real WebSocket client that joins the arena and plays: it attacks a neighbour
 * when it has one, picks up what it stands on, walks towards items or other players, and chats.
 * Owns its socket: `close()` ends it (idempotent). A socket closed by anyone else is a disconnect.
 */
export class Bot {
  readonly name: string;
  readonly id: string;
  readonly stats: BotStats = { sent: 0, moves: 0, attacks: 0, pickups: 0, chats: 0, ticksSeen: 0, chatSeen: 0, systemSeen: 0 };
  /** The last socket error, if any (the disconnect that follows says how the connection ended). */
  lastError: string | undefined;
  readonly #socket: WebSocket;
  readonly #random: Random;
  readonly #actEvery: number;
  readonly #chatEvery: number;
  readonly #offset: number;
  #acting = false;
  #nextChatTick = 0;
  #wander: { dx: Step; dy: Step; left: number } = { dx: 0, dy: 0, left: 0 };
  #disconnect: Disconnect | undefined;
  #closing: Promise<void> | undefined;

  private constructor(socket: WebSocket, id: string, options: BotOptions) {
    this.#socket = socket;
    this.id = id;
    this.name = options.name;
    this.#random = new Random(options.seed);
    this.#actEvery = options.actEveryTicks ?? 4;
    this.#chatEvery = options.chatEveryTicks ?? 60;
    this.#offset = this.#random.int(this.#actEvery);
    socket.on("message", (data) => this.#onMessage(String(data)));
    socket.on("close", (code, reason) => {
      if (this.#closing === undefined) this.#disconnect = { code, reason: reason.toString() };
    });
  }

  /** Connects, joins and waits for the welcome. Rejects (with the socket closed) if any of it fails. */
  static connect(options: BotOptions): Promise<Bot> {
    const socket = new WebSocket(options.url);
    const joinTimeoutMs = options.joinTimeoutMs ?? 10_000;
    return new Promise<Bot>((resolve, reject) => {
      let bot: Bot | undefined;
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        cleanup();
        void closeSocket(socket, CLOSE_CODES.normal, "join failed").then(() => reject(new Error(`bot ${options.name}: ${why}`)));
      };
      const timer = setTimeout(() => fail(`no welcome within ${joinTimeoutMs} ms`), joinTimeoutMs);
      const onOpen = (): void => void socket.send(JSON.stringify({ t: "join", name: options.name } satisfies ClientMessage));
      const onClose = (code: number, reason: Buffer): void => fail(`closed before the welcome (${code} ${reason.toString()})`);
      const onMessage = (data: WebSocket.RawData): void => {
        const message = parseServerMessage(String(data));
        if (message?.t !== "welcome" || settled) return;
        settled = true;
        cleanup();
        bot = new Bot(socket, message.id, options);
        resolve(bot);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off("open", onOpen).off("close", onClose).off("message", onMessage);
      };
      // Stays for the socket's whole life: an "error" event without a listener would throw.
      socket.on("error", (err) => (bot !== undefined ? (bot.lastError = err.message) : fail(err.message)));
      socket.on("open", onOpen).on("close", onClose).on("message", onMessage);
    });
  }

  /** Set when the connection ended without `close()`. */
  get disconnect(): Disconnect | undefined {
    return this.#disconnect;
  }

  /** Starts playing (acting on the server's ticks). */
  start(): void {
    this.#acting = true;
  }

  /** Stops sending anything; the bot stays connected and keeps receiving. */
  stop(): void {
    this.#acting = false;
  }

  /** Stops and closes the connection normally. Idempotent. */
  close(): Promise<void> {
    this.#acting = false;
    this.#closing ??= closeSocket(this.#socket, CLOSE_CODES.normal, "bye");
    return this.#closing;
  }

  #onMessage(text: string): void {
    const message = parseServerMessage(text);
    if (message === undefined) return;
    if (message.t === "tick") {
      this.stats.ticksSeen++;
      if (this.#acting) this.#onTick(message);
    } else if (message.t === "chat") this.stats.chatSeen++;
    else if (message.t === "system") this.stats.systemSeen++;
  }

  #onTick(message: Extract<ServerMessage, { t: "tick" }>): void {
    if (message.tick >= this.#nextChatTick) {
      if (this.#nextChatTick > 0) this.#send({ t: "chat", text: this.#random.pick(LINES) });
      this.#nextChatTick = message.tick + Math.max(1, Math.round(this.#chatEvery * (0.5 + this.#random.next())));
    }
    if ((message.tick + this.#offset) % this.#actEvery !== 0 || !message.you.alive) return;
    const me = message.you;
    const neighbours = message.players.filter((p) => p.alive && distance(me, p) <= 1.5).sort((a, b) => a.hp - b.hp);
    const victim = neighbours[0];
    if (victim !== undefined) return this.#send({ t: "attack", target: victim.id });
    if (message.loot.some((l) => l.x === me.x && l.y === me.y)) return this.#send({ t: "pickup" });
    const goal = this.#goal(me, message.players, message.loot);
    if (goal !== undefined) return this.#send({ t: "move", dx: Math.sign(goal.x - me.x) as Step, dy: Math.sign(goal.y - me.y) as Step });
    if (this.#wander.left <= 0) this.#wander = { dx: (this.#random.int(3) - 1) as Step, dy: (this.#random.int(3) - 1) as Step, left: 3 + this.#random.int(5) };
    this.#wander.left--;
    this.#send({ t: "move", dx: this.#wander.dx, dy: this.#wander.dy });
  }

  /** Where to walk: the nearest item when hurt (or on a whim), else the nearest living player. */
  #goal(me: PlayerView, players: readonly PlayerView[], loot: readonly LootView[]): { x: number; y: number } | undefined {
    const nearest = <T extends { x: number; y: number }>(list: readonly T[]): T | undefined => [...list].sort((a, b) => distance(me, a) - distance(me, b))[0];
    const item = nearest(loot);
    const enemy = nearest(players.filter((p) => p.alive));
    if (item !== undefined && (me.hp < 50 || this.#random.next() < 0.4)) return item;
    return enemy ?? item;
  }

  #send(message: ClientMessage): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(JSON.stringify(message));
    this.stats.sent++;
    if (message.t === "move") this.stats.moves++;
    else if (message.t === "attack") this.stats.attacks++;
    else if (message.t === "pickup") this.stats.pickups++;
    else if (message.t === "chat") this.stats.chats++;
  }
}

function distance(a: { x: number; y: number }, b: { x: number; y: number }): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
