import { describe, expect, it } from "vitest";
import { deployPathProblem } from "../deploy/deploy-files.js";
import { parseRequest } from "./parse-request.js";
import { TokenBucket } from "./token-bucket.js";
import { tokensEqual, bearerToken } from "./admin-token.js";

describe("parseRequest", () => {
  it("accepts each request type with exactly its fields", () => {
    expect(parseRequest(`{"id":1,"type":"status"}`)).toEqual({ ok: true, request: { id: 1, type: "status" } });
    expect(parseRequest(`{"id":"a","type":"logs","mod":"m","limit":5}`)).toEqual({ ok: true, request: { id: "a", type: "logs", mod: "m", limit: 5 } });
    expect(parseRequest(`{"id":2,"type":"subscribe","streams":["log","log","swap"]}`)).toEqual({ ok: true, request: { id: 2, type: "subscribe", streams: ["log", "swap"] } });
    expect(parseRequest(`{"id":3,"type":"deploy","files":{"mod.json":"{}"}}`)).toMatchObject({ ok: true, request: { files: { "mod.json": "{}" } } });
  });

  it("names what is wrong, with the id when it can be read", () => {
    expect(parseRequest("[]")).toMatchObject({ ok: false, id: null, error: { code: "E_ADMIN_MESSAGE" } });
    expect(parseRequest(`{"id":1.5,"type":"status"}`)).toMatchObject({ ok: false, id: null, error: { field: "id" } });
    expect(parseRequest(JSON.stringify({ id: "x".repeat(65), type: "status" }))).toMatchObject({ ok: false, id: null, error: { field: "id" } });
    expect(parseRequest(`{"id":4,"type":"toString"}`)).toMatchObject({ ok: false, id: 4, error: { field: "type" } });
    expect(parseRequest(`{"id":5,"type":"logs","limit":0}`)).toMatchObject({ ok: false, id: 5, error: { field: "limit" } });
    expect(parseRequest(`{"id":6,"type":"subscribe","streams":["everything"]}`)).toMatchObject({ ok: false, id: 6, error: { field: "streams" } });
    expect(parseRequest(`{"id":7,"type":"deploy","files":{"main.ts":1}}`)).toMatchObject({ ok: false, id: 7, error: { field: "files" } });
    expect(parseRequest(`{"id":8,"type":"reload","mod":"Bad Name"}`)).toMatchObject({ ok: false, id: 8, error: { field: "mod" } });
  });
});

describe("deploy paths", () => {
  it("allow mod.json and sources inside the mod only", () => {
    for (const ok of ["mod.json", "main.ts", "lib/util.ts", "a/b/c.ts"]) expect(deployPathProblem(ok), ok).toBeUndefined();
    for (const bad of ["../x.ts", "/x.ts", "a/../../x.ts", "a\\x.ts", ".hidden.ts", "a//b.ts", "x.d.ts", "x.test.ts", "node_modules/x.ts", "test/x.ts", "lib/mod.json", "x.js", ""]) {
      expect(deployPathProblem(bad), bad).toBeDefined();
    }
  });
});

describe("admin helpers", () => {
  it("a token bucket allows a burst, then its rate", () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 500;
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  });

  it("compares tokens whatever their length, and reads bearer headers", () => {
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abc", "abcd")).toBe(false);
    expect(bearerToken("Bearer xyz")).toBe("xyz");
    expect(bearerToken("bearer  xyz ")).toBe("xyz");
    expect(bearerToken("Basic xyz")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
