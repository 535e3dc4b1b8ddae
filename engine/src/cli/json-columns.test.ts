import { describe, expect, it } from "vitest";
import { oneBasedColumns } from "./json-columns.js";

describe("cli: oneBasedColumns", () => {
  it("counts the columns of errors and diagnostics from 1, anywhere in the output", () => {
    const out = oneBasedColumns({
      ok: false,
      diagnostics: [{ code: "E_TYPE", severity: "error", message: "x", file: "main.ts", line: 4, column: 0 }],
      mods: [{ name: "a", error: { code: "E_THREW", message: "boom", file: "main.ts", line: 2, column: 6 } }],
    });
    expect(out).toEqual({
      ok: false,
      diagnostics: [{ code: "E_TYPE", severity: "error", message: "x", file: "main.ts", line: 4, column: 1 }],
      mods: [{ name: "a", error: { code: "E_THREW", message: "boom", file: "main.ts", line: 2, column: 7 } }],
    });
  });

  it("leaves a mod's own data alone, and what has no column", () => {
    const data = { state: { cursor: { line: 3, column: 4 } }, value: [{ line: 1, column: 0 }], error: { code: "E_SYNTAX", message: "m", file: "mod.json", field: "name" } };
    expect(oneBasedColumns(data)).toEqual(data);
    expect(oneBasedColumns("text")).toBe("text");
    expect(oneBasedColumns(null)).toBe(null);
  });
});
