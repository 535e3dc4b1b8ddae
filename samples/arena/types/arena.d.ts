/**
 * The arena's contract with its mods, declared once: the events the server emits (`ModEvents`),
 * what it expects back from each (`ModResults`) and the functions it offers (`ModCapabilities`).
 *
 * - The server passes this file to `ModHost.create({ modTypes })`: every reloaded version of a
 *   mod is type-checked against it, and a patch that does not fit is refused before it runs.
 * - The mods' tsconfig includes it, so mod authors get typed payloads, results and `ctx.host`.
 * - The server's own code imports the same types, so the two sides cannot drift apart.
 *
 * Player ids are server-assigned strings ("p1", "p2"...); names are what players chose.
 */
export {};

declare module "@modhost/sdk" {
  /** An item lying on the grid or being picked up. */
  export interface LootItem {
    readonly kind: "potion" | "weapon" | "gold";
    /** e.g. "small potion", "sword", "coins". */
    readonly name: string;
    /** Potion: hp healed. Weapon: damage bonus. Gold: coins. */
    readonly value: number;
  }

  /** What the combat mod decides about one attack. */
  export interface AttackOutcome {
    /** Hit points the target loses (0 = a miss). */
    readonly damage: number;
    readonly critical: boolean;
  }

  /** What picking up an item does to the player. */
  export interface PickupEffect {
    /** Hit points restored. */
    readonly heal: number;
    /** The weapon the player now wields (null: unchanged). */
    readonly weapon: string | null;
    /** Coins gained. */
    readonly gold: number;
  }

  /** What the chat filter decides about one line. */
  export interface ChatVerdict {
    /** The line as everyone will see it (possibly masked). */
    readonly text: string;
    /** True: nobody sees the line. */
    readonly blocked: boolean;
  }

  interface ModEvents {
    /** A player attacks another one within reach. */
    attack: {
      readonly attacker: string;
      readonly attackerName: string;
      readonly target: string;
      readonly targetName: string;
      /** Grid distance between the two (1 = adjacent). */
      readonly distance: number;
      /** The attacker's weapon, or null when bare-handed. */
      readonly weapon: string | null;
      readonly targetHp: number;
    };
    /** A player's hit points reached 0. */
    death: { readonly victim: string; readonly victimName: string; readonly killer: string; readonly killerName: string };
    /** The server asks what appears at a free cell (a periodic spawn, or where a player died). */
    lootDrop: { readonly x: number; readonly y: number; readonly tick: number; readonly cause: "spawn" | "death" };
    /** A player stands on an item and picks it up. */
    pickup: { readonly player: string; readonly item: LootItem };
    /** A chat line, before anyone sees it. */
    chat: { readonly player: string; readonly name: string; readonly text: string };
  }

  interface ModResults {
    attack: AttackOutcome;
    lootDrop: LootItem | null;
    pickup: PickupEffect;
    chat: ChatVerdict;
  }

  interface ModCapabilities {
    /** Shows a system line to every player. */
    announce(text: string): void;
    /** Shows a system line to one player (by id). */
    notify(player: string, text: string): void;
  }
}
