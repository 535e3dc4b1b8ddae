import type { LootItem, PickupEffect } from "@modhost/sdk";
import type { LootView, PlayerView, Step } from "./protocol.js";
import type { Random } from "./random.js";

/** A player in the world. */
export interface Player {
  readonly id: string;
  readonly name: string;
  x: number;
  y: number;
  hp: number;
  alive: boolean;
  /** Tick at which a dead player comes back. */
  respawnAt: number;
  weapon: string | null;
  gold: number;
}

/** An item on the grid. */
export interface GroundItem {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly item: LootItem;
}

/** The size of the world and its rules that are not mods. */
export interface WorldConfig {
  readonly width: number;
  readonly height: number;
  readonly maxHp: number;
  /** Ticks a dead player waits before coming back. */
  readonly respawnTicks: number;
  /** Furthest an attack reaches (grid distance; diagonal neighbours are at ~1.41). */
  readonly reach: number;
  /** Most items lying on the grid at once. */
  readonly maxLoot: number;
  /** How far a player sees, in cells. */
  readonly viewRadius: number;
}

/** Default world: a 24x24 grid. */
export const DEFAULT_WORLD: WorldConfig = { width: 24, height: 24, maxHp: 100, respawnTicks: 40, reach: 1.5, maxLoot: 40, viewRadius: 7 };

/**
 * The arena's state: players on a grid and items lying on it. Plain game logic with no I/O: the
 * server feeds it inputs and mod results, and reads views of it for the players.
 */
export class World {
  readonly config: WorldConfig;
  readonly #players = new Map<string, Player>();
  readonly #loot = new Map<string, GroundItem>();
  readonly #random: Random;
  #nextPlayer = 0;
  #nextItem = 0;

  constructor(config: WorldConfig, random: Random) {
    this.config = config;
    this.#random = random;
  }

  /** Adds a player at a random cell. */
  addPlayer(name: string): Player {
    const { x, y } = this.randomCell();
    const player: Player = { id: `p${++this.#nextPlayer}`, name, x, y, hp: this.config.maxHp, alive: true, respawnAt: 0, weapon: null, gold: 0 };
    this.#players.set(player.id, player);
    return player;
  }

  removePlayer(id: string): void {
    this.#players.delete(id);
  }

  player(id: string): Player | undefined {
    return this.#players.get(id);
  }

  players(): IterableIterator<Player> {
    return this.#players.values();
  }

  /** Moves a living player one step, staying on the grid. */
  move(player: Player, dx: Step, dy: Step): void {
    if (!player.alive) return;
    player.x = clamp(player.x + dx, 0, this.config.width - 1);
    player.y = clamp(player.y + dy, 0, this.config.height - 1);
  }

  /** Grid distance between two players. */
  distance(a: Player, b: Player): number {
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  /** Applies damage; true when it killed the player. */
  damage(player: Player, amount: number, tick: number): boolean {
    if (!player.alive || amount <= 0) return false;
    player.hp = Math.max(0, player.hp - Math.floor(amount));
    if (player.hp > 0) return false;
    player.alive = false;
    player.respawnAt = tick + this.config.respawnTicks;
    player.weapon = null;
    return true;
  }

  /** Brings back players whose time has come, at a random cell with full hit points. */
  respawn(tick: number): void {
    for (const player of this.#players.values()) {
      if (player.alive || player.respawnAt > tick) continue;
      Object.assign(player, this.randomCell(), { alive: true, hp: this.config.maxHp });
    }
  }

  /** Puts an item on the grid (unless the grid already holds as many as it may). */
  drop(x: number, y: number, item: LootItem): GroundItem | undefined {
    if (this.#loot.size >= this.config.maxLoot) return undefined;
    const ground: GroundItem = { id: `i${++this.#nextItem}`, x, y, item };
    this.#loot.set(ground.id, ground);
    return ground;
  }

  /** The item under a player, if any. */
  itemAt(x: number, y: number): GroundItem | undefined {
    for (const item of this.#loot.values()) if (item.x === x && item.y === y) return item;
    return undefined;
  }

  /** Takes an item off the grid; false when it was already gone. */
  take(id: string): boolean {
    return this.#loot.delete(id);
  }

  get lootCount(): number {
    return this.#loot.size;
  }

  /** Applies what picking an item up does. */
  applyPickup(player: Player, effect: PickupEffect): void {
    player.hp = Math.min(this.config.maxHp, player.hp + Math.max(0, Math.floor(effect.heal)));
    if (effect.weapon !== null) player.weapon = effect.weapon;
    player.gold += Math.max(0, Math.floor(effect.gold));
  }

  /** A random cell. */
  randomCell(): { x: number; y: number } {
    return { x: this.#random.int(this.config.width), y: this.#random.int(this.config.height) };
  }

  /** What `player` sees: the players and items within the view radius. */
  view(player: Player): { players: PlayerView[]; loot: LootView[] } {
    const r = this.config.viewRadius;
    const near = (x: number, y: number): boolean => Math.abs(x - player.x) <= r && Math.abs(y - player.y) <= r;
    const players: PlayerView[] = [];
    for (const p of this.#players.values()) if (p !== player && near(p.x, p.y)) players.push(playerView(p));
    const loot: LootView[] = [];
    for (const item of this.#loot.values()) if (near(item.x, item.y)) loot.push({ id: item.id, x: item.x, y: item.y, name: item.item.name });
    return { players, loot };
  }
}

/** The public view of a player. */
export function playerView(p: Player): PlayerView {
  return { id: p.id, name: p.name, x: p.x, y: p.y, hp: p.hp, alive: p.alive };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
