// Mods the benchmarks load, written to temporary mods folders (same layout as
// test/support/mod-fixture.ts: <modsDir>/<name>/{mod.json,main.ts}).
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A temporary modsDir holding `mods` ({ name: mainTs }); `cleanup()` removes it. `limits` goes into
 * every mod.json (e.g. COMBAT_LIMITS).
 */
export async function makeModsDir(mods, { limits } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "modhost-bench-"));
  for (const [name, main] of Object.entries(mods)) {
    await mkdir(join(dir, name), { recursive: true });
    const manifest = { name, version: "1.0.0", entry: "main.ts", permissions: [], ...(limits ? { limits } : {}) };
    await writeFile(join(dir, name, "mod.json"), JSON.stringify(manifest, null, 2));
    await writeFile(join(dir, name, "main.ts"), main);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `count` mods named `${prefix}00`, `${prefix}01`, ... built by `source(index)`. */
export function modSet(prefix, count, source) {
  const mods = {};
  for (let i = 0; i < count; i++) mods[`${prefix}${String(i).padStart(2, "0")}`] = source(i);
  return mods;
}

/**
 * A small, typical gameplay mod (a scoreboard with a tick and a hit handler). `variant` changes
 * its text so that every mod of a set is a distinct compilation (no shared compile-cache entry).
 */
export function smallMod(variant) {
  return `import { defineMod } from "@modhost/sdk";

// Scoreboard mod #${variant}
type Player = { id: string; score: number; streak: number };
type State = { players: Record<string, Player>; ticks: number; bonus: number };

function player(state: State, id: string): Player {
  let p = state.players[id];
  if (p === undefined) {
    p = { id, score: 0, streak: 0 };
    state.players[id] = p;
  }
  return p;
}

export default defineMod<State>({
  init: () => ({ players: {}, ticks: 0, bonus: ${variant + 1} }),
  on: {
    tick(state, e: { dt: number }) {
      state.ticks++;
      return state.ticks;
    },
    hit(state, e: { player: string; points: number }) {
      const p = player(state, e.player);
      p.streak++;
      p.score += e.points * (p.streak > 3 ? state.bonus : 1);
      return { score: p.score, streak: p.streak };
    },
  },
});
`;
}

/** An idle mod: loaded, tiny state, never sent anything but a probe event. */
export function idleMod(variant) {
  return `import { defineMod } from "@modhost/sdk";
type State = { seen: number; id: number };
export default defineMod<State>({
  init: () => ({ seen: 0, id: ${variant} }),
  on: {
    probe(state) {
      state.seen++;
      return state.id;
    },
  },
});
`;
}

/** A mod whose handler does nothing: isolates the engine's own per-event cost. */
export const NOOP_MOD = `import { defineMod } from "@modhost/sdk";
export default defineMod<{}>({
  init: () => ({}),
  on: {
    noop() {},
  },
});
`;

/**
 * The combat mod's mod.json limits: its init() builds the whole state in one call, and with 10k
 * entities that takes 11-40 ms of wall time on the 2-core benchmark machine, often past modhost's
 * default 50 ms call limit when the machine is busy (the mod then fails to load with E_TIMEOUT).
 * A mod author would raise it the same way. The peers give init() 1 s.
 */
export const COMBAT_LIMITS = { callTimeoutMs: 250 };

/**
 * The combat mod: a state of `entities` fighters; each "attack" looks up attacker and target,
 * applies damage with a Math.random() crit, respawns the dead, and returns a small object.
 * COMBAT_LOGIC is the exact same logic as plain JavaScript, for the native floor.
 */
export const COMBAT_LOGIC = `
function makeEntities(n) {
  const entities = {};
  for (let i = 0; i < n; i++) {
    entities["e" + i] = { id: "e" + i, hp: 100 + (i % 50), maxHp: 100 + (i % 50), atk: 10 + (i % 7), def: 2 + (i % 5), crit: 0.1 + (i % 4) * 0.05, kills: 0, deaths: 0 };
  }
  return entities;
}
function attack(state, e) {
  const a = state.entities[e.attacker];
  const t = state.entities[e.target];
  if (a === undefined || t === undefined) return { ok: false };
  const crit = Math.random() < a.crit;
  let damage = Math.max(1, Math.round(a.atk * e.power - t.def));
  if (crit) damage *= 2;
  t.hp -= damage;
  let killed = false;
  if (t.hp <= 0) {
    killed = true;
    a.kills++;
    t.deaths++;
    t.hp = t.maxHp;
  }
  state.rounds++;
  return { target: t.id, damage, crit, hp: t.hp, killed };
}
`;

export function combatMod(entities) {
  return `import { defineMod } from "@modhost/sdk";
type Entity = { id: string; hp: number; maxHp: number; atk: number; def: number; crit: number; kills: number; deaths: number };
type State = { entities: Record<string, Entity>; rounds: number };
type Attack = { attacker: string; target: string; power: number };
${COMBAT_LOGIC.replace("function makeEntities(n) {", "function makeEntities(n: number): Record<string, Entity> {\n  const entities: Record<string, Entity> = {};").replace("  const entities = {};\n", "").replace("function attack(state, e) {", "function attack(state: State, e: Attack) {")}
export default defineMod<State>({
  init: () => ({ entities: makeEntities(${entities}), rounds: 0 }),
  on: {
    attack(state, e: Attack) {
      return attack(state, e);
    },
  },
});
`;
}

/** The native floor: the combat logic as a host function over a state built the same way. */
export function nativeCombat(entities) {
  // eslint-disable-next-line no-new-func -- the same source text the mod runs, compiled in the host
  const make = new Function(`${COMBAT_LOGIC}\nreturn { makeEntities, attack };`);
  const { makeEntities, attack } = make();
  return { state: { entities: makeEntities(entities), rounds: 0 }, attack };
}

/** Attack payloads cycling over `entities` fighters (deterministic). */
export function attackPayloads(entities, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push({ attacker: `e${(i * 7) % entities}`, target: `e${(i * 13 + 1) % entities}`, power: 1 + (i % 3) * 0.5 });
  }
  return out;
}

/** The combat mod as the sandbox loads it (JavaScript, no SDK import), `entities` fighters. */
export function combatSpec(name, entities) {
  const js = `${COMBAT_LOGIC}
export default { init: () => ({ entities: makeEntities(${entities}), rounds: 0 }), on: { attack(state, e) { return attack(state, e); } } };`;
  return {
    name, version: "1.0.0", hash: name, entry: "main.ts",
    modules: [{ path: "main.ts", js, imports: {} }],
    permissions: [], memoryMb: 32, callTimeoutMs: COMBAT_LIMITS.callTimeoutMs, maxBytes: 1 << 20, maxLogsPerCall: 100,
  };
}
