import { afterEach } from "vitest";
import { CliProcess } from "./cli-runner.js";
import { makeModsDir, type ModFiles, type ModsDir } from "./mod-fixture.js";

/** What a CLI test file starts: `modhost` processes and mods folders, all stopped and removed after each test. */
export interface CliScratch {
  /** Starts `modhost <args>` (killed after the test). */
  start(args: string[], env?: Record<string, string | undefined>): CliProcess;
  /** A temporary mods folder (removed after the test, once the processes are stopped). */
  modsDir(mods: Record<string, ModFiles>): Promise<ModsDir>;
  /** Runs `cleanup` after the test, once the processes are stopped (e.g. removing a folder they used). */
  later(cleanup: () => Promise<unknown>): void;
}

/** The scratch of one CLI test file; call at its top level. */
export function cliScratch(): CliScratch {
  const processes: CliProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    start(args, env) {
      const child = CliProcess.start(args, env !== undefined ? { env } : {});
      processes.push(child);
      return child;
    },
    async modsDir(mods) {
      const dir = await makeModsDir(mods);
      cleanups.push(() => dir.cleanup());
      return dir;
    },
    later(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
