import { Bot, type BotOptions, type BotStats, type Disconnect } from "./bot.js";

/** Options of `BotSwarm.connect`. */
export interface BotSwarmOptions extends Omit<BotOptions, "name" | "seed"> {
  readonly count: number;
  /** Seed of the first bot; the others get the next ones. */
  readonly seed?: number;
  /** Bots connecting at once (default 10). */
  readonly concurrency?: number;
}

/** N bots, connected together and closed together. Owns its bots. */
export class BotSwarm {
  readonly bots: readonly Bot[];
  #closed: Promise<void> | undefined;

  private constructor(bots: readonly Bot[]) {
    this.bots = bots;
  }

  /** Connects `count` bots named bot-01, bot-02...; if one fails, closes the others and rejects. */
  static async connect(options: BotSwarmOptions): Promise<BotSwarm> {
    const { count, seed = 1, concurrency = 10, ...botOptions } = options;
    const width = String(count).length < 2 ? 2 : String(count).length;
    const bots: Bot[] = [];
    let failure: unknown;
    for (let start = 0; start < count && failure === undefined; start += concurrency) {
      const batch = Array.from({ length: Math.min(concurrency, count - start) }, (_, i) => start + i);
      const settled = await Promise.allSettled(batch.map((i) => Bot.connect({ ...botOptions, name: `bot-${String(i + 1).padStart(width, "0")}`, seed: seed + i })));
      for (const outcome of settled) {
        if (outcome.status === "fulfilled") bots.push(outcome.value);
        else failure ??= outcome.reason;
      }
    }
    if (failure !== undefined) {
      await Promise.all(bots.map((bot) => bot.close()));
      throw failure;
    }
    return new BotSwarm(bots);
  }

  start(): void {
    for (const bot of this.bots) bot.start();
  }

  stop(): void {
    for (const bot of this.bots) bot.stop();
  }

  /** Action messages sent by all bots. */
  get sent(): number {
    return this.bots.reduce((sum, bot) => sum + bot.stats.sent, 0);
  }

  /** Every bot's stats added up. */
  totals(): BotStats {
    const total: BotStats = { sent: 0, moves: 0, attacks: 0, pickups: 0, chats: 0, ticksSeen: 0, chatSeen: 0, systemSeen: 0 };
    for (const bot of this.bots) for (const key of Object.keys(total) as (keyof BotStats)[]) total[key] += bot.stats[key];
    return total;
  }

  /** The bots whose connection ended without them closing it. */
  disconnects(): { readonly bot: string; readonly disconnect: Disconnect }[] {
    const out: { bot: string; disconnect: Disconnect }[] = [];
    for (const bot of this.bots) if (bot.disconnect !== undefined) out.push({ bot: bot.name, disconnect: bot.disconnect });
    return out;
  }

  /** Closes every bot. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= Promise.all(this.bots.map((bot) => bot.close())).then(() => undefined);
    return this.#closed;
  }
}
