import { describe, expect, it } from "vitest";
import { editDistance, helpWidth, suggest, wrapHelp } from "./help-text.js";

describe("help text", () => {
  it("wraps at word boundaries, continuing under the description column", () => {
    const line = "  --state <dir>          keep checkpoints and the journal there (state survives restarts)";
    expect(wrapHelp(line, 64)).toBe("  --state <dir>          keep checkpoints and the journal there\n                         (state survives restarts)");
    expect(wrapHelp("short", 60)).toBe("short");
    expect(wrapHelp(`${"x".repeat(70)} y`, 60)).toBe(`${"x".repeat(70)}\ny`);
  });

  it("takes the width from the terminal, else $COLUMNS, else 80", () => {
    expect(helpWidth({ columns: 100 }, {})).toBe(100);
    expect(helpWidth({}, { COLUMNS: "90" })).toBe(90);
    expect(helpWidth({}, {})).toBe(80);
    expect(helpWidth({ columns: 10 }, {})).toBe(40);
  });

  it("suggests close command names", () => {
    expect(editDistance("chek", "check")).toBe(1);
    const names = ["init", "check", "serve", "status", "state", "deploy", "versions"];
    expect(suggest("chek", names)).toEqual(["check"]);
    expect(suggest("stat", names)).toEqual(["state", "status"]);
    expect(suggest("deplyo", names)).toEqual(["deploy"]);
    expect(suggest("zzzz", names)).toEqual([]);
  });
});
