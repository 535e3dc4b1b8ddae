import { describe, expect, it } from "vitest";
import { resolveOptions } from "../host/host-options.js";

describe("ModHost.create's registry and requireSigned options", () => {
  it("parses a full registry option", () => {
    const options = resolveOptions({ modsDir: "/tmp/x", requireSigned: true, registry: { url: "http://127.0.0.1:4873", token: "t", trustedKeys: "keys.json", follow: { "@studio/arena": "canary", loot: "1.2.3" }, pollMs: 1000 } });
    expect(options.requireSigned).toBe(true);
    expect(options.registry).toMatchObject({ url: "http://127.0.0.1:4873", token: "t", follow: [{ name: "@studio/arena", spec: "canary" }, { name: "loot", spec: "1.2.3" }], pollMs: 1000, timeoutMs: 10_000 });
  });

  const bad: [string, object, string][] = [
    ["requireSigned without trusted keys", { requireSigned: true }, "requireSigned"],
    ["requireSigned not a boolean", { requireSigned: "yes", registry: { trustedKeys: "k.json" } }, "requireSigned"],
    ["registry not an object", { registry: "http://x" }, "registry"],
    ["an unknown registry setting", { registry: { trustedKeys: "k.json", tag: "x" } }, "registry.tag"],
    ["no trusted keys", { registry: { url: "http://x" } }, "registry.trustedKeys"],
    ["a non-http url", { registry: { url: "file:///etc", trustedKeys: "k.json" } }, "registry.url"],
    ["follow without url", { registry: { trustedKeys: "k.json", follow: { a: "latest" } } }, "registry.url"],
    ["a bad package name", { registry: { url: "http://x", trustedKeys: "k.json", follow: { "Bad Name": "latest" } } }, "registry.follow.Bad Name"],
    ["a bad tag", { registry: { url: "http://x", trustedKeys: "k.json", follow: { a: "no spaces" } } }, "registry.follow.a"],
    ["a tiny pollMs", { registry: { trustedKeys: "k.json", pollMs: 1 } }, "registry.pollMs"],
  ];
  for (const [what, extra, field] of bad) {
    it(`refuses ${what} (E_OPTIONS_INVALID, field ${field})`, () => {
      expect(() => resolveOptions({ modsDir: "/tmp/x", ...extra })).toThrow(expect.objectContaining({ code: "E_OPTIONS_INVALID", location: { field } }));
    });
  }
});
