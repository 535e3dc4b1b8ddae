import { describe, expect, it } from "vitest";
import { resolveModSpecifier } from "./resolve-mod-specifier.js";

const files: ReadonlySet<string> = new Set(["main.ts", "util.ts", "lib/util.ts", "lib/deep/x.ts", "dir/index.ts", "index.ts"]);

describe("resolve", () => {
  it("resolves @modhost/sdk to the SDK", () => {
    expect(resolveModSpecifier("main.ts", "@modhost/sdk", files)).toEqual({ kind: "sdk" });
  });

  it("resolves ./util, ./util.js and ./util.ts to util.ts", () => {
    for (const specifier of ["./util", "./util.js", "./util.ts"]) {
      expect(resolveModSpecifier("main.ts", specifier, files)).toEqual({ kind: "mod", path: "util.ts" });
    }
  });

  it("resolves relative to the importing file's folder", () => {
    expect(resolveModSpecifier("lib/deep/x.ts", "../util.js", files)).toEqual({ kind: "mod", path: "lib/util.ts" });
    expect(resolveModSpecifier("lib/util.ts", "./deep/x", files)).toEqual({ kind: "mod", path: "lib/deep/x.ts" });
    expect(resolveModSpecifier("lib/util.ts", "../main", files)).toEqual({ kind: "mod", path: "main.ts" });
  });

  it("resolves a folder to its index.ts", () => {
    expect(resolveModSpecifier("main.ts", "./dir", files)).toEqual({ kind: "mod", path: "dir/index.ts" });
    expect(resolveModSpecifier("main.ts", "./dir/", files)).toEqual({ kind: "mod", path: "dir/index.ts" });
    expect(resolveModSpecifier("lib/util.ts", "..", files)).toEqual({ kind: "mod", path: "index.ts" });
  });

  it("collapses redundant segments", () => {
    expect(resolveModSpecifier("main.ts", "./lib/./deep/../util", files)).toEqual({ kind: "mod", path: "lib/util.ts" });
  });

  it("refuses a relative path that escapes the mod folder", () => {
    expect(resolveModSpecifier("main.ts", "../other-mod/main.js", files).kind).toBe("refused");
    expect(resolveModSpecifier("lib/util.ts", "../../secrets", files).kind).toBe("refused");
    expect(resolveModSpecifier("main.ts", "./lib/../../x", files).kind).toBe("refused");
  });

  it("refuses node:fs", () => {
    expect(resolveModSpecifier("main.ts", "node:fs", files).kind).toBe("refused");
  });

  it("refuses bare specifiers other than the SDK", () => {
    for (const specifier of ["fs", "lodash", "@modhost/sdk/internal", "@scope/pkg", "util"]) {
      expect(resolveModSpecifier("main.ts", specifier, files).kind, specifier).toBe("refused");
    }
  });

  it("refuses absolute paths, URLs and backslashes", () => {
    for (const specifier of ["/etc/passwd", "file:///etc/passwd", "https://x.test/a.js", "data:text/javascript,1", "C:/x.ts", ".\\util", "..\\..\\x"]) {
      expect(resolveModSpecifier("main.ts", specifier, files).kind, specifier).toBe("refused");
    }
  });

  it("reports a missing file as not-found, naming what it looked for", () => {
    const result = resolveModSpecifier("main.ts", "./missing", files);
    expect(result.kind).toBe("not-found");
    expect(result.kind === "not-found" && result.reason).toContain("missing.ts");
    expect(resolveModSpecifier("main.ts", "./util.mjs", files).kind).toBe("not-found");
    expect(resolveModSpecifier("main.ts", "./dir.ts", files).kind).toBe("not-found");
  });
});
