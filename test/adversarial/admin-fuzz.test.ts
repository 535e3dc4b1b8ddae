/**
 * Property-based fuzzing (fast-check) of the admin channel and of manifests, against the real
 * parts: a real AdminServer over a real WebSocket, the real loader through ModHost. A canary mod
 * must keep answering and the host and server must stay up throughout. Runs are seeded: a failure
 * prints its seed and path, and `FUZZ_SEED=<n>` replays it.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServer, ModHost, parseManifest, REQUEST_TYPES, STREAMS } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { TestSocket } from "../support/ws-test-client.js";

const TOKEN = "test-token-0123456789abcdef";
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 20261202;

/** JSON text nested `depth` deep around `inner`. */
function nest(depth: number, inner: string): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}

const requestTypes = [...Object.keys(REQUEST_TYPES), "explode", ""];
const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("counter", "canary", "log", "swap", 1, 10_000, -1, 1e308), fc.array(fc.constantFrom(...Object.keys(STREAMS), "nope"), { maxLength: 4 }));

/** Messages shaped like requests, with every field possibly wrong. */
const shapedMessage = fc
  .record(
    {
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 2 })),
      type: fc.constantFrom(...requestTypes),
      mod: fieldValue,
      limit: fieldValue,
      streams: fieldValue,
      files: fc.oneof(fieldValue, fc.dictionary(fc.constantFrom("mod.json", "main.ts", "../x.ts", "lib/a.ts", "run.sh"), fc.string({ maxLength: 200 }), { maxKeys: 3 })),
      extra: fieldValue,
    },
    { requiredKeys: ["type"] },
  )
  .map((m) => JSON.stringify(m));

/** Any text a client might send: JSON, near-JSON, garbage, deep nesting, long strings, binary. */
const anyMessage: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  shapedMessage,
  fc.json({ maxDepth: 4 }),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.integer({ min: 1, max: 150_000 }), fc.constantFrom("type", "mod", "limit", "streams", "id")).map(([depth, field]) => `{"id":1,"type":"${field === "type" ? "x" : "logs"}","${field}":${nest(depth, "1")}}`),
  fc.tuple(fc.integer({ min: 1, max: 50_000 }), fc.string({ maxLength: 5 })).map(([n, s]) => `{"id":"long","type":"reload","mod":${JSON.stringify(s.repeat(n))}}`),
  fc.json({ maxDepth: 2 }).map((text) => text.slice(0, Math.max(0, text.length - 1))), // cut short
);

describe("fuzz: arbitrary admin messages against a real server (fast-check)", () => {
  let mods: ModsDir;
  let host: ModHost;
  let admin: AdminServer;
  let ws: TestSocket;
  beforeAll(async () => {
    mods = await makeModsDir({ canary: simpleMod("canary", COUNTER_MAIN) });
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
    admin = await AdminServer.create({ host, token: TOKEN, modsDir: mods.dir, rateBurst: 1_000_000, ratePerSecond: 1_000_000 });
    ws = await TestSocket.open(`ws://127.0.0.1:${admin.port}/admin`, TOKEN);
  });
  afterAll(async () => {
    await ws.close();
    await admin.close();
    await host.close();
    await mods.cleanup();
  });

  it("every message gets an answer (or a clean close), the server stays up, the canary keeps answering", async () => {
    let hits = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyMessage, { minLength: 1, maxLength: 5 }), async (batch) => {
        run++;
        ws.messages.length = 0;
        for (const message of batch) {
          if (typeof message === "string") ws.send(message);
          else ws.ws.send(message, { binary: true });
        }
        // A status request after the batch; then wait until every message has had its answer.
        const sentinel = `sentinel-${run}`;
        ws.send({ id: sentinel, type: "status" });
        await ws.answer(sentinel);
        await expect
          .poll(() => ws.messages.filter((m) => m.type === "result" || m.type === "error").length, { timeout: 30_000 })
          .toBeGreaterThanOrEqual(batch.length);
        for (const m of ws.messages) {
          if (m.type !== "error") continue;
          const error = m.error as { code: string; message: string };
          expect(error.code).toMatch(/^E_[A-Z_]+$/);
          expect(error.code).not.toBe("E_INTERNAL");
        }
        expect(await host.emit("hit", { player: "canary" })).toMatchObject([{ mod: "canary", ok: true, value: ++hits }]);
      }),
      { numRuns: 120, seed: SEED, endOnFailure: true },
    );
    expect(admin.connections).toBe(1);
  }, 120_000);
});

const validName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/);
/** Manifests shaped like mod.json with any field possibly wrong, huge or deep (within the size cap). */
const shapedManifest = fc
  .record(
    {
      name: fc.oneof(validName, fc.jsonValue({ maxDepth: 2 })),
      version: fc.oneof(fc.constantFrom("1.0.0", "0.0.1-rc.1+b", "1.0", "01.0.0"), fc.jsonValue({ maxDepth: 2 })),
      entry: fc.oneof(fc.constantFrom("main.ts", "./main.ts", "../main.ts", "/etc/x.ts", "a\\b.ts", "lib/x.ts"), fc.jsonValue({ maxDepth: 2 })),
      permissions: fc.oneof(fc.array(fc.oneof(fc.constantFrom("broadcast", "world.damage", "1bad", "x".repeat(70)), fc.string({ maxLength: 10 })), { maxLength: 400 }), fc.jsonValue({ maxDepth: 2 })),
      limits: fc.oneof(fc.dictionary(fc.constantFrom("memoryMb", "callTimeoutMs", "cpu", "__proto__"), fc.oneof(fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 2 }))), fc.jsonValue({ maxDepth: 2 })),
      description: fc.jsonValue({ maxDepth: 2 }),
      junk: fc.array(fc.constant(1), { maxLength: 20_000 }),
    },
    { requiredKeys: [] },
  )
  .map((m) => JSON.stringify(m));

const anyManifest: fc.Arbitrary<string> = fc.oneof(
  shapedManifest,
  fc.json({ maxDepth: 5 }),
  fc.object({ maxDepth: 3 }).map((o) => JSON.stringify(o) ?? "null"),
  fc.string({ unit: "binary", maxLength: 400 }),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => `{"name":"deep","version":"1.0.0","limits":{"memoryMb":${nest(depth, "8")}}}`),
  fc.integer({ min: 1, max: 30_000 }).map((n) => JSON.stringify({ name: "keys", version: "1.0.0", ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0])) })),
);

describe("fuzz: arbitrary manifests through the real loader (fast-check)", () => {
  it("parseManifest never throws and answers with at most a few E_MANIFEST_INVALID diagnostics", () => {
    fc.assert(
      fc.property(anyManifest, (text) => {
        const result = parseManifest(text);
        if (result.ok) return;
        expect(result.diagnostics.length).toBeGreaterThan(0);
        expect(result.diagnostics.length).toBeLessThanOrEqual(25);
        for (const d of result.diagnostics) expect(d.code).toBe("E_MANIFEST_INVALID");
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  it("host.load of a folder with any mod.json resolves with a report (a coded refusal, never a throw); the canary keeps answering", async () => {
    const mods = await makeModsDir({ canary: simpleMod("canary", COUNTER_MAIN) });
    const host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
    try {
      let folder = 0;
      let hits = 0;
      await fc.assert(
        fc.asyncProperty(anyManifest, async (text) => {
          const name = `fuzz${folder++}`;
          await mods.write(name, { "mod.json": text, "main.ts": `export default { on: { ping: () => "pong" } };` });
          const report = await host.load(join(mods.dir, name));
          if (!report.ok) expect(report.error?.code).toMatch(/^E_[A-Z_]+$/);
          expect(report.error?.code).not.toBe("E_INTERNAL");
          expect(await host.emit("hit", { player: "p" })).toContainEqual(expect.objectContaining({ mod: "canary", ok: true, value: ++hits }));
        }),
        { numRuns: 80, seed: SEED, endOnFailure: true },
      );
    } finally {
      await host.close();
      await mods.cleanup();
    }
  }, 120_000);

  it("ModHost.create over folders with arbitrary manifests starts, and the canary answers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyManifest, { minLength: 1, maxLength: 3 }), async (manifests) => {
        const mods = await makeModsDir({ canary: simpleMod("canary", COUNTER_MAIN) });
        try {
          for (const [i, text] of manifests.entries()) await mods.write(`fuzz${i}`, { "mod.json": text, "main.ts": `export default { on: {} };` });
          const host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
          try {
            expect(await host.emit("hit", { player: "p" })).toContainEqual(expect.objectContaining({ mod: "canary", ok: true, value: 1 }));
          } finally {
            await host.close();
          }
        } finally {
          await mods.cleanup();
        }
      }),
      { numRuns: 12, seed: SEED, endOnFailure: true },
    );
  }, 120_000);
});
