/**
 * SwapReport narrows on `ok` (this file is type-checked by sdk-types.test.ts through
 * test/sdk/tsconfig.json, so the type assertions below are checked as well as run).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ModHost, type ErrorInfo, type SwapReport } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

/** What a game does with a report: no `?.` or `!` needed once `ok` is known. */
function describeReport(report: SwapReport): string {
  if (!report.ok) {
    const error: ErrorInfo = report.error; // refused: the error is always there
    return `refused ${report.to}: ${error.code}`;
  }
  if (report.kind === "rollback") return `rolled back to ${report.to}${report.error !== undefined ? ` (${report.error.code})` : ""}`;
  // @ts-expect-error a swap or noop that went through has no error to read
  const none: ErrorInfo = report.error;
  return `${report.kind} ${report.to}${none === undefined ? "" : "?"}`;
}

describe("SwapReport narrows on ok", () => {
  it("a refused reload has its error, a swap has none", async () => {
    const v1 = `export default { init: () => ({ n: 0 }), on: { inc(s: { n: number }) { return ++s.n; } } };`;
    mods = await makeModsDir({ m: simpleMod("m", v1) });
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    await mods.write("m", simpleMod("m", v1.replace("return ++s.n;", "return s.n.nope;"), { version: "1.1.0" }));
    const refused = await host.reload("m");
    expect(describeReport(refused)).toMatch(/^refused 1\.1\.0: E_TYPE$/);
    await mods.write("m", simpleMod("m", v1.replace("return ++s.n;", "return s.n += 2;"), { version: "1.2.0" }));
    const swapped = await host.reload("m");
    expect(swapped).not.toHaveProperty("error");
    expect(describeReport(swapped)).toBe("swap 1.2.0");
    expect(describeReport(await host.rollback("m"))).toBe("rolled back to 1.0.0");
  });
});
