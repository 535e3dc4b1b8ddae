import { describe, expect, it } from "vitest";
import { fakeVersion } from "./fake-backend.test-kit.js";
import { handlerDeclaration } from "./handler-declaration.js";

function versionWith(main: string) {
  const base = fakeVersion("1.0.0");
  return { ...base, spec: { ...base.spec, entry: "main.ts" }, files: new Map([["main.ts", main]]) };
}

const MAIN = `import { defineMod } from "@modhost/sdk";
export default defineMod<{ n: number }>({
  init: () => ({ n: 0 }),
  on: {
    tick(s) {
      return ++s.n;
    },
    "buy-item": (s) => s.n,
  },
});
`;

describe("handlerDeclaration (a timeout's fallback location)", () => {
  it("finds a method and a quoted property of the definition's handlers, with 0-based columns", async () => {
    expect(await handlerDeclaration(versionWith(MAIN), "tick")).toEqual({ file: "main.ts", line: 5, column: 4 });
    expect(await handlerDeclaration(versionWith(MAIN), "buy-item")).toEqual({ file: "main.ts", line: 8, column: 4 });
  });

  it("finds nothing for a handler that is not written in an `on` object literal", async () => {
    expect(await handlerDeclaration(versionWith(MAIN), "missing")).toBeUndefined();
    expect(await handlerDeclaration(versionWith(`const on = {}; export default { on };`), "tick")).toBeUndefined();
  });
});
