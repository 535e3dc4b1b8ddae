import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A mod on disk for a test: its files by relative path (mod.json may be an object). */
export type ModFiles = Record<string, string | object>;

/** A temporary modsDir with the given mods; `cleanup()` removes it. */
export interface ModsDir {
  readonly dir: string;
  write(mod: string, files: ModFiles): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeModsDir(mods: Record<string, ModFiles> = {}): Promise<ModsDir> {
  const dir = await mkdtemp(join(tmpdir(), "modhost-test-"));
  const write = async (mod: string, files: ModFiles): Promise<void> => {
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, mod, path);
      await mkdir(join(full, ".."), { recursive: true });
      await writeFile(full, typeof content === "string" ? content : JSON.stringify(content, null, 2));
    }
  };
  for (const [name, files] of Object.entries(mods)) await write(name, files);
  return { dir, write, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A one-file mod: mod.json plus main.ts. */
export function simpleMod(name: string, main: string, manifest: object = {}): ModFiles {
  return { "mod.json": { name, version: "1.0.0", entry: "main.ts", permissions: [], ...manifest }, "main.ts": main };
}

/** The counter mod from the design brief. */
export const COUNTER_MAIN = `import { defineMod } from "@modhost/sdk";
type State = { hits: Record<string, number> };
export default defineMod<State>({
  init: () => ({ hits: {} }),
  on: {
    hit(state, e: { player: string }) {
      state.hits[e.player] = (state.hits[e.player] ?? 0) + 1;
      return state.hits[e.player];
    },
  },
});
`;

/** Both isolation modes, for describe.each. */
export const ISOLATIONS = ["process", "inline"] as const;
