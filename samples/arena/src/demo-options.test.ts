import { describe, expect, it } from "vitest";
import { DEFAULT_DEMO, parseDemoArgs } from "./demo-options.js";

describe("parseDemoArgs", () => {
  it("defaults to 50 bots, 8 seconds, process isolation", () => {
    expect(parseDemoArgs([])).toEqual(DEFAULT_DEMO);
    expect(DEFAULT_DEMO).toMatchObject({ bots: 50, seconds: 8, isolation: "process" });
  });

  it("reads every option", () => {
    expect(parseDemoArgs(["--bots", "5", "--seconds", "2.5", "--isolation", "inline", "--seed", "9", "--quiet"])).toEqual({ bots: 5, seconds: 2.5, isolation: "inline", seed: 9, quiet: true });
    expect(parseDemoArgs(["--help"])).toBe("help");
  });

  it.each([
    [["--bots"], "--bots needs a value"],
    [["--bots", "1.5"], "--bots must be a whole number"],
    [["--seconds", "0"], "--seconds must be a number from 1 to 600"],
    [["--isolation", "thread"], '--isolation must be "process" or "inline"'],
    [["--fast"], 'unknown argument "--fast"'],
  ])("refuses %j", (args, message) => {
    expect(() => parseDemoArgs(args)).toThrow(message);
  });
});
