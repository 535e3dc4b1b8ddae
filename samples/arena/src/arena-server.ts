import { performance } from "node:perf_hooks";
import { ModHost } from "modhost";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { arenaCapabilities } from "./arena-capabilities.js";
import { ArenaRules } from "./arena-rules.js";
import { ClientHub } from "./client-hub.js";
import { closeSocket } from "./close-socket.js";
import { parseClientMessage } from "./parse-client-message.js";
import { CLOSE_CODES, PROTOCOL_LIMITS, type Step } from "./protocol.js";
import { Random } from "./random.js";
import { DEFAULT_WORLD, playerView, World, type Player, type WorldConfig } from "./world.js";

/** What the operator grants each of the arena's mods. */
export const ARENA_GRANTS: Readonly<Record<string, readonly string[]>> = { combat: ["announce"], "chat-filter": ["notify"], loot: [] };

/** Options of `ArenaServer.create`. */
export interface ArenaServerOptions {
  /** The folder of the mods (combat, loot, chat-filter). */
  readonly modsDir: string;
  /** The game's declaration files, for type-checking reloads (types/arena.d.ts). */
  readonly modTypes?: readonly string[];
  readonly isolation?: "process" | "inline";
  /** TCP port (default 0: any free port). */
  readonly port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  readonly hostname?: string;
  /** Ticks per second (default 20). */
  readonly tickHz?: number;
  readonly world?: Partial<WorldConfig>;
  /** Seed of the world's randomness (spawn cells). */
  readonly seed?: number;
  /** Where the server's own log lines go (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** What happened in the arena so far. */
export interface ArenaStats {
  ticks: number;
  /** Ticks that started more than a tick period late. */
  lateTicks: number;
  joins: number;
  leaves: number;
  /** Action messages received (everything but `join`). */
  actionsReceived: number;
  protocolErrors: number;
  attacks: number;
  hits: number;
  criticals: number;
  kills: number;
  lootDropped: number;
  pickups: number;
  chatLines: number;
  chatMasked: number;
  chatBlocked: number;
  announcements: number;
  notices: number;
  /** Errors thrown while running a tick or applying a result (must stay 0). */
  errors: number;
}

/** A connection and the inputs it queued for the next tick. */
interface Session {
  readonly socket: WebSocket;
  player: Player | undefined;
  joinTimer: NodeJS.Timeout | undefined;
  move: { dx: Step; dy: Step } | undefined;
  attack: string | undefined;
  pickup: boolean;
  chats: string[];
  nextAttackTick: number;
  rate: { windowStart: number; count: number };
}

/** Ticks between two attacks of one player. */
const ATTACK_COOLDOWN_TICKS = 4;
/** Ticks between two loot spawns. */
const SPAWN_EVERY_TICKS = 5;
/** Chat lines a player may have waiting for one tick. */
const MAX_QUEUED_CHATS = 4;
/** Time a client has to send `join`. */
const JOIN_TIMEOUT_MS = 10_000;

/**
 * The arena: a WebSocket game server with a fixed tick rate whose rules (combat, loot, chat) are
 * modhost mods. Players join, move one cell per tick, attack neighbours, pick up items and chat;
 * each tick's inputs become mod events, and the mods' answers change the world as they arrive, so
 * the tick loop never waits for a mod. Owns its ModHost, its WebSocket server and its timers:
 * create it with `create()`, release it with `close()`.
 */
export class ArenaServer {
  /** The mods' host: reload, rollback, state, metrics. */
  readonly host: ModHost;
  /** The typed, counted path to the mods. */
  readonly rules: ArenaRules;
  readonly world: World;
  readonly stats: ArenaStats;
  /** The last system lines the mods sent (announcements and notices), newest last. */
  readonly systemLines: string[];
  readonly #wss: WebSocketServer;
  readonly #hub: ClientHub;
  readonly #sessions = new Set<Session>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #periodMs: number;
  readonly #tickHz: number;
  readonly #log: (line: string) => void;
  #tick = 0;
  #timer: NodeJS.Timeout | undefined;
  #nextTickAt = 0;
  #stopped = false;
  #closed: Promise<void> | undefined;

  private constructor(host: ModHost, wss: WebSocketServer, hub: ClientHub, stats: ArenaStats, systemLines: string[], options: ArenaServerOptions) {
    this.host = host;
    this.#wss = wss;
    this.#hub = hub;
    this.stats = stats;
    this.systemLines = systemLines;
    this.#log = options.log ?? (() => undefined);
    this.rules = new ArenaRules(host, this.#log);
    this.world = new World({ ...DEFAULT_WORLD, ...options.world }, new Random(options.seed ?? 1));
    this.#tickHz = options.tickHz ?? 20;
    this.#periodMs = 1000 / this.#tickHz;
    wss.on("connection", (socket) => this.#onConnection(socket));
    this.#nextTickAt = performance.now();
    this.#schedule();
  }

  /** Starts the mods (every folder of `modsDir`), then listens. Closes what it opened if a step fails. */
  static async create(options: ArenaServerOptions): Promise<ArenaServer> {
    const tickHz = options.tickHz ?? 20;
    if (!Number.isFinite(tickHz) || tickHz < 1 || tickHz > 100) throw new RangeError(`tickHz must be between 1 and 100, got ${tickHz}`);
    const hub = new ClientHub();
    const stats = emptyStats();
    const systemLines: string[] = [];
    const capabilities = arenaCapabilities(hub, (kind, text) => {
      if (kind === "announce") stats.announcements++;
      else stats.notices++;
      systemLines.push(text);
      if (systemLines.length > 50) systemLines.shift();
    });
    const host = await ModHost.create({
      modsDir: options.modsDir,
      capabilities,
      grants: ARENA_GRANTS,
      limits: { memoryMb: 64, callTimeoutMs: 500 },
      ...(options.modTypes !== undefined ? { modTypes: options.modTypes } : {}),
      ...(options.isolation !== undefined ? { isolation: options.isolation } : {}),
    });
    let wss: WebSocketServer | undefined;
    try {
      wss = await listen(options.port ?? 0, options.hostname ?? "127.0.0.1");
      return new ArenaServer(host, wss, hub, stats, systemLines, options);
    } catch (err) {
      if (wss !== undefined) await closeWss(wss);
      await host.close();
      throw err;
    }
  }

  /** The server's WebSocket URL. */
  get url(): string {
    const address = this.#wss.address();
    if (typeof address === "string" || address === null) throw new Error("the arena is not listening on a TCP port");
    return `ws://${address.address}:${address.port}`;
  }

  /** The number of the last tick run. */
  get tick(): number {
    return this.#tick;
  }

  /** Events whose answers have not been applied yet. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Stops the game: no more ticks and no more inputs, then waits until every event already sent to
   * the mods is answered and applied. The players stay connected. Idempotent.
   */
  async quiesce(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inflight.size > 0) await Promise.all(this.#inflight);
  }

  /** Quiesces, disconnects every player (going away), stops listening and closes the mods' host. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      let failure: unknown;
      await this.quiesce().catch((err: unknown) => (failure ??= err));
      await Promise.all([...this.#sessions].map((s) => closeSocket(s.socket, CLOSE_CODES.goingAway, "server shutting down")));
      await closeWss(this.#wss).catch((err: unknown) => (failure ??= err));
      await this.host.close().catch((err: unknown) => (failure ??= err));
      if (failure !== undefined) throw failure;
    })();
    return this.#closed;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const now = performance.now();
    this.#nextTickAt += this.#periodMs;
    if (this.#nextTickAt < now - this.#periodMs) {
      // Fell more than a tick behind (the machine is busy): count it and start afresh from now.
      this.stats.lateTicks++;
      this.#nextTickAt = now;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      try {
        this.#runTick();
      } catch (err) {
        this.stats.errors++;
        this.#log(`tick ${this.#tick} failed: ${(err as Error).stack ?? String(err)}`);
      }
      this.#schedule();
    }, Math.max(0, this.#nextTickAt - now));
  }

  /** One tick: respawns, moves, then each input as a mod event, loot spawns, and the snapshots. */
  #runTick(): void {
    const tick = ++this.#tick;
    this.stats.ticks = tick;
    this.world.respawn(tick);
    for (const session of this.#sessions) {
      const player = session.player;
      if (player === undefined) continue;
      if (session.move !== undefined) this.world.move(player, session.move.dx, session.move.dy);
      session.move = undefined;
      if (session.pickup) this.#pickup(player);
      session.pickup = false;
      if (session.attack !== undefined && tick >= session.nextAttackTick && this.#attack(player, session.attack)) session.nextAttackTick = tick + ATTACK_COOLDOWN_TICKS;
      session.attack = undefined;
      for (const text of session.chats.splice(0)) this.#chat(player, text);
    }
    if (tick % SPAWN_EVERY_TICKS === 0 && this.world.lootCount < this.world.config.maxLoot) {
      const { x, y } = this.world.randomCell();
      this.#track(this.rules.emit("lootDrop", { x, y, tick, cause: "spawn" }).then((item) => this.#dropped(x, y, item ?? null)));
    }
    for (const session of this.#sessions) {
      const player = session.player;
      if (player === undefined || !this.#hub.keepingUp(player.id)) continue;
      const view = this.world.view(player);
      this.#hub.send(player.id, { t: "tick", tick, you: { ...playerView(player), weapon: player.weapon, gold: player.gold }, players: view.players, loot: view.loot });
    }
  }

  /** Sends an attack to the combat mod; false when the attack is not possible (no event sent). */
  #attack(attacker: Player, targetId: string): boolean {
    const target = this.world.player(targetId);
    if (target === undefined || target === attacker || !attacker.alive || !target.alive) return false;
    const distance = this.world.distance(attacker, target);
    if (distance > this.world.config.reach) return false;
    this.stats.attacks++;
    const payload = { attacker: attacker.id, attackerName: attacker.name, target: target.id, targetName: target.name, distance: Math.round(distance * 1000) / 1000, weapon: attacker.weapon, targetHp: target.hp };
    this.#track(
      this.rules.emit("attack", payload).then((outcome) => {
        if (outcome === undefined || outcome.damage <= 0) return;
        this.stats.hits++;
        if (outcome.critical) this.stats.criticals++;
        if (!this.world.damage(target, outcome.damage, this.#tick)) return;
        this.stats.kills++;
        this.#track(this.rules.emit("death", { victim: target.id, victimName: target.name, killer: attacker.id, killerName: attacker.name }).then(() => undefined));
        const { x, y } = target;
        this.#track(this.rules.emit("lootDrop", { x, y, tick: this.#tick, cause: "death" }).then((item) => this.#dropped(x, y, item ?? null)));
      }),
    );
    return true;
  }

  #pickup(player: Player): void {
    const ground = player.alive ? this.world.itemAt(player.x, player.y) : undefined;
    if (ground === undefined || !this.world.take(ground.id)) return;
    this.#track(
      this.rules.emit("pickup", { player: player.id, item: ground.item }).then((effect) => {
        if (effect === undefined) return;
        this.stats.pickups++;
        if (this.world.player(player.id) !== undefined) this.world.applyPickup(player, effect);
      }),
    );
  }

  #chat(player: Player, text: string): void {
    this.stats.chatLines++;
    this.#track(
      this.rules.emit("chat", { player: player.id, name: player.name, text }).then((verdict) => {
        if (verdict === undefined || verdict.blocked) {
          this.stats.chatBlocked++;
          return;
        }
        if (verdict.text !== text) this.stats.chatMasked++;
        this.#hub.broadcast({ t: "chat", from: player.name, text: verdict.text });
      }),
    );
  }

  #dropped(x: number, y: number, item: Parameters<World["drop"]>[2] | null): void {
    if (item !== null && this.world.drop(x, y, item) !== undefined) this.stats.lootDropped++;
  }

  /** Keeps an event's whole chain (emit, then apply) until it settles; a throw is counted and logged. */
  #track(chain: Promise<void>): void {
    const tracked = chain.catch((err: unknown) => {
      this.stats.errors++;
      this.#log(`applying a mod result failed: ${(err as Error).stack ?? String(err)}`);
    });
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
  }

  #onConnection(socket: WebSocket): void {
    const session: Session = { socket, player: undefined, joinTimer: undefined, move: undefined, attack: undefined, pickup: false, chats: [], nextAttackTick: 0, rate: { windowStart: performance.now(), count: 0 } };
    this.#sessions.add(session);
    session.joinTimer = setTimeout(() => this.#reject(session, CLOSE_CODES.protocolError, "no join message"), JOIN_TIMEOUT_MS);
    socket.on("message", (data, isBinary) => this.#onMessage(session, data, isBinary));
    socket.on("error", (err) => this.#log(`socket of ${session.player?.name ?? "a new client"}: ${err.message}`));
    socket.on("close", () => {
      clearTimeout(session.joinTimer);
      this.#sessions.delete(session);
      if (session.player !== undefined) {
        this.stats.leaves++;
        this.#hub.remove(session.player.id);
        this.world.removePlayer(session.player.id);
      }
    });
  }

  #onMessage(session: Session, data: RawData, isBinary: boolean): void {
    if (this.#stopped) return;
    const now = performance.now();
    if (now - session.rate.windowStart >= 1000) session.rate = { windowStart: now, count: 0 };
    if (++session.rate.count > PROTOCOL_LIMITS.maxMessagesPerSecond) return this.#reject(session, CLOSE_CODES.rateLimited, "too many messages");
    if (isBinary) return this.#reject(session, CLOSE_CODES.protocolError, "binary messages are not part of the protocol");
    const parsed = parseClientMessage(rawText(data));
    if (!parsed.ok) return this.#reject(session, CLOSE_CODES.protocolError, parsed.reason);
    const message = parsed.message;
    if (message.t === "join") {
      if (session.player !== undefined) return this.#reject(session, CLOSE_CODES.protocolError, "join was already sent");
      if ([...this.world.players()].some((p) => p.name === message.name)) return this.#reject(session, CLOSE_CODES.nameTaken, `the name ${message.name} is taken`);
      clearTimeout(session.joinTimer);
      session.joinTimer = undefined;
      const player = this.world.addPlayer(message.name);
      session.player = player;
      this.stats.joins++;
      this.#hub.add(player.id, session.socket);
      this.#hub.send(player.id, { t: "welcome", id: player.id, width: this.world.config.width, height: this.world.config.height, tickHz: this.#tickHz });
      return;
    }
    if (session.player === undefined) return this.#reject(session, CLOSE_CODES.protocolError, `"${message.t}" before join`);
    this.stats.actionsReceived++;
    switch (message.t) {
      case "move":
        session.move = { dx: message.dx, dy: message.dy };
        break;
      case "attack":
        session.attack = message.target;
        break;
      case "pickup":
        session.pickup = true;
        break;
      case "chat":
        session.chats.push(message.text);
        if (session.chats.length > MAX_QUEUED_CHATS) session.chats.shift();
        break;
    }
  }

  #reject(session: Session, code: number, reason: string): void {
    this.stats.protocolErrors++;
    this.#log(`closing ${session.player?.name ?? "a client"}: ${reason}`);
    session.socket.close(code, reason.slice(0, 120));
  }
}

function emptyStats(): ArenaStats {
  return { ticks: 0, lateTicks: 0, joins: 0, leaves: 0, actionsReceived: 0, protocolErrors: 0, attacks: 0, hits: 0, criticals: 0, kills: 0, lootDropped: 0, pickups: 0, chatLines: 0, chatMasked: 0, chatBlocked: 0, announcements: 0, notices: 0, errors: 0 };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}

function listen(port: number, hostname: string): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ port, host: hostname, maxPayload: PROTOCOL_LIMITS.maxMessageBytes });
    const onError = (err: Error): void => {
      wss.off("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      wss.off("error", onError);
      resolve(wss);
    };
    wss.once("error", onError);
    wss.once("listening", onListening);
  });
}

function closeWss(wss: WebSocketServer): Promise<void> {
  return new Promise((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
}
