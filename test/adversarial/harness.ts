/**
 * Shared rig for the adversarial suite: a host over a temporary modsDir that records faults and
 * log lines, and small helpers to write hostile mods and read one mod's answer to one event.
 */
import { afterEach, expect } from "vitest";
import { ModHost, type EmitResult, type FaultEvent, type LogEvent, type ModHostOptions, type ModInfo } from "modhost";
import { makeModsDir, type ModFiles, type ModsDir } from "../support/mod-fixture.js";

export interface Rig {
  readonly host: ModHost;
  readonly mods: ModsDir;
  readonly faults: FaultEvent[];
  readonly logs: LogEvent[];
  close(): Promise<void>;
}

/** Starts a host over the given mods; `close()` closes the host and removes the folder. */
export async function startRig(modFiles: Record<string, ModFiles>, options: Omit<ModHostOptions, "modsDir">): Promise<Rig> {
  const mods = await makeModsDir(modFiles);
  let host: ModHost;
  try {
    host = await ModHost.create({ ...options, modsDir: mods.dir });
  } catch (err) {
    await mods.cleanup();
    throw err;
  }
  const faults: FaultEvent[] = [];
  const logs: LogEvent[] = [];
  host.on("fault", (f) => faults.push(f));
  host.on("log", (l) => logs.push(l));
  let closed: Promise<void> | undefined;
  return {
    host,
    mods,
    faults,
    logs,
    close: () => (closed ??= host.close().finally(() => mods.cleanup())),
  };
}

/** startRig for one test file: every rig it starts is closed after the test that started it. */
export function rigsClosedAfterEach(): (...args: Parameters<typeof startRig>) => Promise<Rig> {
  const started: Rig[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((r) => r.close()));
  });
  return async (...args) => {
    const r = await startRig(...args);
    started.push(r);
    return r;
  };
}

/**
 * A mod folder whose entry exports `{ init, on }` with the given handler bodies. Each handler is
 * `(s: any, p: any, ctx: any) => ...`; `top` is module code before the export (type-checked, so
 * hostile code is written against `any`). The time limit is 1000 ms unless the manifest says
 * otherwise: the limit is wall time, and the default 50 ms can run out for a one-line handler when
 * two test files share two cores; tests that mean to hit it set a small one.
 */
export function handlerMod(
  name: string,
  handlers: Record<string, string>,
  options: { init?: string; top?: string; manifest?: object; files?: Record<string, string> } = {},
): ModFiles {
  const on = Object.entries(handlers)
    .map(([event, body]) => `    ${JSON.stringify(event)}(s: any, p: any, ctx: any): any {\n      ${body}\n    },`)
    .join("\n");
  const main =
    `${options.top ?? ""}\n` +
    `export default {\n  init: (): any => (${options.init ?? "{ n: 0 }"}),\n  on: {\n${on}\n  },\n};\n`;
  return {
    "mod.json": { name, version: "1.0.0", entry: "main.ts", permissions: [], limits: { callTimeoutMs: 1000 }, ...options.manifest },
    "main.ts": main,
    ...options.files,
  };
}

/** A mod that counts `inc` events: `inc` returns the new count. */
export function counterMod(name: string, extra: Record<string, string> = {}, options: Parameters<typeof handlerMod>[2] = {}): ModFiles {
  return handlerMod(name, { inc: "return ++s.n;", ...extra }, options);
}

/** The one answer `mod` gave to `event` (fails the test unless it answered exactly once). */
export async function answer(host: ModHost, mod: string, event: string, payload?: unknown): Promise<EmitResult> {
  const results = await host.emit(event, payload);
  return only(results, mod);
}

/** `mod`'s entry in one emit's results; fails unless there is exactly one. */
export function only(results: readonly EmitResult[], mod: string): EmitResult {
  const mine = results.filter((r) => r.mod === mod);
  expect(mine, `answers of ${mod}`).toHaveLength(1);
  return mine[0] as EmitResult;
}

/** The value of a successful answer; fails the test with the error otherwise. */
export async function value(host: ModHost, mod: string, event: string, payload?: unknown): Promise<unknown> {
  const r = await answer(host, mod, event, payload);
  expect(r.error, `${mod} on ${event}`).toBeUndefined();
  expect(r.ok).toBe(true);
  return r.value;
}

/** The error code of a failed answer (fails the test if the event succeeded). */
export async function errorCode(host: ModHost, mod: string, event: string, payload?: unknown): Promise<string> {
  const r = await answer(host, mod, event, payload);
  expect(r.ok, `${mod} on ${event} should fail, got ${JSON.stringify(r.value)}`).toBe(false);
  return r.error?.code as string;
}

/** `mods()` entry of one mod. */
export function info(host: ModHost, name: string): ModInfo {
  const found = host.mods().find((m) => m.name === name);
  expect(found, `mod ${name} is listed`).toBeDefined();
  return found as ModInfo;
}

/** Text that must never reach a mod or an error result: host paths and Node internals. */
export const HOST_TEXT = [/\/work\//, /node:internal/, /file:\/\//, /isolated-vm/, /node_modules/, new RegExp(escapeRegExp(process.cwd()))];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
