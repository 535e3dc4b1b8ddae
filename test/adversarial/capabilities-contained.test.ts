/**
 * Whatever a game capability returns or throws is contained (issue 10, findings 3 and 4): a
 * Promise that rejects later, thrown values that cannot be turned into text, answers whose
 * serialization throws. Each call fails inside the mod with E_CAPABILITY_FAILED (the game's
 * fault), the host stays up, and the mod keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { answer, handlerMod, startRig, value, type Rig } from "./harness.js";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

/** A value whose every trap throws (a thrown Proxy of a null-prototype object). */
function hostileProxy(): object {
  const trap = (): never => {
    throw Object.create(null) as Error;
  };
  return new Proxy(Object.create(null) as object, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
}

const CAPABILITIES = {
  rejectLater: () => new Promise((_resolve, reject) => setTimeout(() => reject(new Error("rejected later")), 20)),
  rejectLaterWithNullProto: () => new Promise((_resolve, reject) => setTimeout(() => reject(Object.create(null)), 20)),
  resolveLater: () => Promise.resolve(1),
  throwsNullProto: () => {
    throw Object.create(null) as Error;
  },
  throwsMessageGetter: () => {
    const err = new Error("x");
    Object.defineProperty(err, "message", {
      get() {
        throw Object.create(null) as Error;
      },
    });
    throw err;
  },
  throwsProxy: () => {
    throw hostileProxy() as Error;
  },
  throwsSymbol: () => {
    throw Symbol("sym") as unknown as Error;
  },
  throwsHugeMessage: () => {
    throw new Error("m".repeat(5_000_000));
  },
  toJsonThrowsNullProto: () => ({
    toJSON() {
      throw Object.create(null) as Error;
    },
  }),
  toJsonThrowsProxy: () => ({
    toJSON() {
      throw hostileProxy() as Error;
    },
  }),
  thenGetterThrows: () => ({
    get then() {
      throw Object.create(null) as Error;
    },
  }),
  cyclic: () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    return a;
  },
  bigint: () => 10n,
};

describe.each(ISOLATIONS)("capability results and throws are contained (%s isolation)", (isolation) => {
  let rig: Rig;
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    const permissions = Object.keys(CAPABILITIES);
    rig = await startRig(
      {
        game: handlerMod(
          "game",
          {
            call: "try { return { ok: ctx.host[p.name]() }; } catch (e: any) { return { code: e.code, message: String(e.message) }; }",
            uncaught: "return ctx.host[p.name]();",
            inc: "return ++s.n;",
          },
          { manifest: { permissions } },
        ),
      },
      { isolation, capabilities: CAPABILITIES, grants: { game: permissions } },
    );
  });
  afterAll(async () => {
    await rig?.close();
    process.off("unhandledRejection", onUnhandled);
  });

  it("refuses a Promise that rejects later, handles the rejection and reports it (finding 3)", async () => {
    for (const name of ["rejectLater", "rejectLaterWithNullProto", "resolveLater"]) {
      const got = (await value(rig.host, "game", "call", { name })) as { code: string; message: string };
      expect(got.code).toBe("E_CAPABILITY_FAILED");
      expect(got.message).toMatch(/returned a Promise/);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the rejections happen now
    expect(unhandled).toEqual([]);
    const late = rig.logs.filter((l) => /later rejected/.test(l.message));
    expect(late.map((l) => l.message)).toEqual([
      expect.stringContaining("host.rejectLater() returned a Promise (refused) that later rejected: rejected later"),
      expect.stringContaining("host.rejectLaterWithNullProto() returned a Promise (refused) that later rejected: a thrown [object Object]"),
    ]);
    expect(rig.host.metrics().capabilities?.rejectLater).toMatchObject({ lateRejections: 1 });
    expect(await value(rig.host, "game", "inc")).toBe(1);
  });

  it.each([
    ["throwsNullProto", /host\.throwsNullProto\(\) failed: a thrown \[object Object\]/],
    ["throwsMessageGetter", /host\.throwsMessageGetter\(\) failed: a thrown \[object Error\]/],
    ["throwsProxy", /host\.throwsProxy\(\) failed: a thrown value that could not be described/],
    ["throwsSymbol", /host\.throwsSymbol\(\) failed: Symbol\(sym\)/],
    ["toJsonThrowsNullProto", /host\.toJsonThrowsNullProto\(\) returned a value that is not JSON data: a thrown \[object Object\]/],
    ["toJsonThrowsProxy", /returned a value that is not JSON data: a thrown value that could not be described/],
    ["thenGetterThrows", /whose "then" could not be read/],
    ["cyclic", /not JSON data: .*circular/i],
    ["bigint", /not JSON data: .*BigInt/],
  ])("answers E_CAPABILITY_FAILED when the game's %s, and the host stays up (finding 4)", async (name, message) => {
    const got = (await value(rig.host, "game", "call", { name })) as { code: string; message: string };
    expect(got).toEqual({ code: "E_CAPABILITY_FAILED", message: expect.stringMatching(message) });
    // Uncaught in the handler, the event fails with the game's code and counts as no fault of the mod.
    const r = await answer(rig.host, "game", "uncaught", { name });
    expect(r).toMatchObject({ ok: false, error: { code: "E_CAPABILITY_FAILED" } });
    expect(rig.faults).toEqual([]);
    expect(rig.host.metrics().sandboxRestarts).toBe(0);
  });

  it("cuts a huge thrown message to a bounded description", async () => {
    const got = (await value(rig.host, "game", "call", { name: "throwsHugeMessage" })) as { code: string; message: string };
    expect(got.code).toBe("E_CAPABILITY_FAILED");
    expect(got.message.length).toBeLessThan(2000);
    expect(got.message).toMatch(/…\[truncated\]$/);
  });
});
