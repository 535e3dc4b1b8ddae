/**
 * The files `modhost init` writes: a counter mod that shows state, an event handler, logging and
 * where migrate() goes; a tsconfig with the sandbox's environment (ES2023, no DOM, no Node); and a
 * test that runs the mod in a real sandbox.
 */

/** What the scaffold needs to know about where it is written. */
export interface ScaffoldSetup {
  /** The mod's name (a valid manifest name). */
  readonly name: string;
  /**
   * The SDK's declaration file, relative to the mod folder, for a tsconfig `paths` mapping; undefined
   * when `@modhost/sdk` resolves from the mod folder on its own (installed in node_modules).
   */
  readonly sdkTypes: string | undefined;
  /** Same for `@modhost/sdk/testing`. */
  readonly sdkTestingTypes: string | undefined;
  /** Does the SDK offer its test harness (`@modhost/sdk/testing`)? Otherwise the test drives ModHost. */
  readonly harness: boolean;
  /** Does the SDK offer the vitest matchers (`@modhost/sdk/testing/vitest`: `toBeOk()`)? */
  readonly matchers: boolean;
  /**
   * npm specs of the two packages (e.g. `file:/abs/packages/modhost-0.1.0.tgz`), when they come
   * from tarballs made by `npm run pack` rather than a registry; undefined: `^<version>` ranges.
   */
  readonly packages: { readonly modhost: string; readonly sdk: string } | undefined;
}

/** The versions the scaffold asks for of the tools it lists (the ones this repository is tested with). */
const TOOL_VERSIONS = { typescript: "^5.9.3", vitest: "^4.1.0" } as const;

/** The scaffold's files by name. */
export function scaffoldFiles(setup: ScaffoldSetup): Record<string, string> {
  return {
    "mod.json": `${JSON.stringify({ name: setup.name, version: "0.1.0", entry: "main.ts", permissions: [], limits: {} }, null, 2)}\n`,
    "main.ts": MAIN_TS,
    "main.test.ts": setup.harness ? harnessTest(setup.matchers) : hostTest(setup.name),
    "tsconfig.json": `${JSON.stringify(tsconfig(setup), null, 2)}\n`,
    // .mjs, not .ts: every .ts file of the folder is the mod's code, compiled for the sandbox.
    "vitest.config.mjs": VITEST_CONFIG,
    "package.json": `${JSON.stringify(packageJson(setup), null, 2)}\n`,
    ".gitignore": "node_modules/\n",
  };
}

const MAIN_TS = `import { defineMod } from "@modhost/sdk";

/** This mod's state: kept between events, carried over by hot swaps, checkpointed by the host. */
type State = { hits: Record<string, number> };

export default defineMod<State>({
  init: () => ({ hits: {} }),
  // When State's shape changes, add migrate(old, fromVersion) returning the new shape;
  // without it the host refuses the swap (E_MIGRATION_REQUIRED) and the old version keeps running.
  on: {
    hit(state, e: { player: string }, ctx) {
      const hits = (state.hits[e.player] ?? 0) + 1;
      state.hits[e.player] = hits;
      ctx.log(\`\${e.player} has \${hits} hit(s)\`);
      return hits;
    },
  },
});
`;

// Vitest looks for its config upwards from the folder it runs in: without its own, a mod inside
// another project (a monorepo, the modhost repository) would run under that project's config.
const VITEST_CONFIG = `import { defineConfig } from "vitest/config";

// This mod's own test setup, so that a vitest config further up (a monorepo's) is not used.
// isolated-vm needs --no-node-snapshot: each test file runs in a forked child with it, and the
// harness then runs the mod's isolates in that process (faster than a sandbox child process).
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    execArgv: ["--no-node-snapshot"],
    testTimeout: 30_000,
  },
});
`;

function harnessTest(matchers: boolean): string {
  if (matchers) {
    return `import { expect, test } from "vitest";
import { loadMod } from "@modhost/sdk/testing";
// Adds expect(result).toBeOk() and .toFailWith(code): a failure prints the mod's error code,
// message and file:line:col.
import "@modhost/sdk/testing/vitest";

// loadMod copies this folder into a temporary host and runs it in a real sandbox. The mod it
// returns also has value(), swapTo(otherDir), patch({ "main.ts": text }) and rollback() to test
// hot swaps, setNow()/advance() for the time the mod sees, and records logs, faults and
// capability calls.
test("counts hits per player, in a real sandbox", async () => {
  const mod = await loadMod(new URL(".", import.meta.url));
  try {
    const first = await mod.emit("hit", { player: "ann" });
    expect(first).toBeOk();
    expect(first).toMatchObject({ value: 1 });
    expect(await mod.value("hit", { player: "ann" })).toBe(2);
    expect(await mod.state()).toEqual({ hits: { ann: 2 } });
  } finally {
    await mod.close();
  }
});
`;
  }
  return `import { expect, test } from "vitest";
import { loadMod } from "@modhost/sdk/testing";

// loadMod copies this folder into a temporary host and runs it in a real sandbox. The mod it
// returns also has value(), swapTo(otherDir), patch({ "main.ts": text }) and rollback() to test
// hot swaps, and records logs, faults and capability calls.
test("counts hits per player, in a real sandbox", async () => {
  const mod = await loadMod(new URL(".", import.meta.url));
  try {
    expect(await mod.emit("hit", { player: "ann" })).toMatchObject({ ok: true, value: 1 });
    expect(await mod.emit("hit", { player: "ann" })).toMatchObject({ ok: true, value: 2 });
    expect(await mod.state()).toEqual({ hits: { ann: 2 } });
  } finally {
    await mod.close();
  }
});
`;
}

function hostTest(name: string): string {
  return `import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { ModHost } from "modhost";

const here = fileURLToPath(new URL(".", import.meta.url));

test("counts hits per player, in a real sandbox", async () => {
  // A host serves a folder of mods: give it one holding a copy of this mod.
  const modsDir = await mkdtemp(join(tmpdir(), "mod-test-"));
  await cp(here, join(modsDir, ${JSON.stringify(name)}), { recursive: true, filter: (src) => !src.includes("node_modules") });
  const host = await ModHost.create({ modsDir });
  try {
    expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: 1 }]);
    expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: 2 }]);
    expect(await host.state(${JSON.stringify(name)})).toEqual({ hits: { ann: 2 } });
  } finally {
    await host.close();
    await rm(modsDir, { recursive: true, force: true });
  }
});
`;
}

function tsconfig(setup: ScaffoldSetup): object {
  const paths: Record<string, string[]> = {};
  if (setup.sdkTypes !== undefined) paths["@modhost/sdk"] = [setup.sdkTypes];
  if (setup.sdkTestingTypes !== undefined) paths["@modhost/sdk/testing"] = [setup.sdkTestingTypes];
  return {
    // What a mod's code sees in the sandbox, as \`modhost check\` type-checks it: the language's
    // built-ins only (no DOM, no Node), strict, every file a module.
    compilerOptions: {
      strict: true,
      target: "ES2022",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: ["ES2023"],
      types: [],
      noEmit: true,
      allowImportingTsExtensions: true,
      isolatedModules: true,
      moduleDetection: "force",
      skipLibCheck: true,
      ...(Object.keys(paths).length > 0 ? { paths } : {}),
    },
    include: ["**/*.ts"],
    // Tests run in Node (vitest), not in the sandbox.
    exclude: ["node_modules", "dist", "**/*.test.ts"],
  };
}

function packageJson(setup: ScaffoldSetup): object {
  return {
    name: setup.name,
    private: true,
    type: "module",
    scripts: { check: "modhost check .", dev: "modhost dev .", test: "vitest run", typecheck: "tsc --noEmit" },
    devDependencies: {
      "@modhost/sdk": setup.packages?.sdk ?? "^0.1.0",
      modhost: setup.packages?.modhost ?? "^0.1.0",
      typescript: TOOL_VERSIONS.typescript,
      vitest: TOOL_VERSIONS.vitest,
    },
    // modhost's sandbox is isolated-vm, a native addon built on install: npm must run its script.
    allowScripts: { "isolated-vm": true },
  };
}
