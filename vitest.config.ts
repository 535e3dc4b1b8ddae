import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// isolated-vm needs --no-node-snapshot (Node 20 to 26 alike), and vitest's threads pool refuses that flag:
// every test file runs in a forked child with it.
export default defineConfig({
  test: {
    include: ["engine/src/**/*.test.ts", "scripts-sdk/src/**/*.test.ts", "test/**/*.test.ts", "samples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    execArgv: ["--no-node-snapshot"],
    // Files share their forked child instead of one fork and module graph each: about 0.4 s less
    // per file (engine/src: 54 -> 33 s), some 1-2 minutes of a CI run per Node. Every engine
    // resource has one owner and the leak guard fails a file that leaves one open, so a file
    // cannot pass its mess on unseen.
    isolate: false,
    // One fork per core, not vitest's default of one fewer (a single fork on a 2-core machine):
    // most of a test's time is spent waiting on the processes it starts (sandboxes, npm, Redis,
    // the CLI), so two forks keep both cores busy (full suite, Node 20: 14 -> 9.3 min).
    maxWorkers: availableParallelism(),
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ["test/setup/leak-guard.ts"],
    globalSetup: ["test/setup/typecheck-cache.ts"],
  },
});
