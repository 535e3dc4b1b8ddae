import { afterEach } from "vitest";
import { rm } from "node:fs/promises";
import type { ModsDir } from "./mod-fixture.js";

/** Anything a test opens that must be closed before its folders go (a ModHost, a client). */
export interface Closable {
  close(): Promise<unknown>;
}

/**
 * What one persist test made: the hosts it opened, its mods folder and its stateDir. Set the
 * fields as the test makes them; after each test the hosts are closed (in the order opened,
 * so that nothing writes into a folder being removed), then the mods folder and the stateDir are
 * removed and the fields cleared for the next test.
 */
export interface PersistScratch {
  readonly hosts: Closable[];
  mods: ModsDir | undefined;
  stateDir: string | undefined;
}

/**
 * The scratch state of the persist tests of one file, released after each test (see
 * `PersistScratch`). Call at the top level of the test file. `release`, when given, runs first
 * (e.g. to stop CLI processes that hold the folders).
 */
export function persistScratch(options: { release?: () => Promise<unknown> } = {}): PersistScratch {
  const scratch: PersistScratch = { hosts: [], mods: undefined, stateDir: undefined };
  afterEach(async () => {
    await options.release?.();
    for (const host of scratch.hosts.splice(0)) await host.close();
    await scratch.mods?.cleanup();
    if (scratch.stateDir !== undefined) await rm(scratch.stateDir, { recursive: true, force: true });
    scratch.mods = undefined;
    scratch.stateDir = undefined;
  });
  return scratch;
}
