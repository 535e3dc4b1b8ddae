import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient, resolveSpec, type PackumentVersion } from "modhost";
import { CraftedRegistry } from "../support/crafted-registry.js";

const tgz = Buffer.from("pretend tarball bytes");
const sri = (b: Buffer): string => `sha512-${createHash("sha512").update(b).digest("base64")}`;

describe("the registry client against crafted answers", () => {
  let registry: CraftedRegistry;
  beforeAll(async () => {
    registry = await CraftedRegistry.start();
  });
  afterAll(() => registry.close());
  const client = (extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}): RegistryClient => new RegistryClient({ url: registry.url, token: "s3cret", retries: 2, backoffMs: 5, timeoutMs: 2000, ...extra });

  it("sends the token as a bearer, and an unchanged packument costs a 304 and no body", async () => {
    registry.publish("@s/a", [{ version: "1.0.0", tarball: tgz }], { latest: "1.0.0" });
    const c = client();
    const first = await c.packument("@s/a");
    if (first.status !== "ok") throw new Error("expected 200");
    expect(registry.requests.at(-1)?.headers.authorization).toBe("Bearer s3cret");
    for (let i = 0; i < 3; i++) expect((await c.packument("@s/a", first.etag)).status).toBe("not-modified");
    expect(registry.count("/@s/a", 304)).toBe(3);
    expect(c.counters).toMatchObject({ packumentRequests: 4, notModified: 3, tarballDownloads: 0 });
    expect((await c.tarball(resolveSpec(first.packument, "latest"), "@s/a")).equals(tgz)).toBe(true);
  });

  it("retries 5xx with backoff and then reports E_REGISTRY_UNAVAILABLE", async () => {
    registry.set("/down", { body: Buffer.from("oops"), status: 503 });
    const c = client();
    await expect(c.packument("down")).rejects.toMatchObject({ code: "E_REGISTRY_UNAVAILABLE", message: expect.stringMatching(/answered 503/) });
    expect(registry.count("/down")).toBe(3);
    expect(c.counters.retries).toBe(2);
  });

  it("a slow registry times out (E_REGISTRY_UNAVAILABLE), an unreachable one too", async () => {
    registry.set("/slow", { body: Buffer.from("{}"), delayMs: 3000 });
    await expect(client({ timeoutMs: 200, retries: 0 }).packument("slow")).rejects.toMatchObject({ code: "E_REGISTRY_UNAVAILABLE", message: expect.stringMatching(/no answer within 200 ms/) });
    await expect(new RegistryClient({ url: "http://127.0.0.1:9/", retries: 0 }).packument("x")).rejects.toMatchObject({ code: "E_REGISTRY_UNAVAILABLE" });
  });

  it("a body cut off midway is retried and reported as unavailable", async () => {
    registry.set("/cut", { body: Buffer.alloc(100_000, 32), cutAfter: 1000 });
    await expect(client({ retries: 1 }).packument("cut")).rejects.toMatchObject({ code: "E_REGISTRY_UNAVAILABLE", message: expect.stringMatching(/cut off/) });
  });

  const malformed: [string, string, RegExp][] = [
    ["not JSON", "<html>", /not JSON/],
    ["an array", "[]", /not a JSON object/],
    ["another package's name", JSON.stringify({ name: "other", "dist-tags": {}, versions: {} }), /names "other"/],
    ["no dist-tags", JSON.stringify({ name: "bad", versions: {} }), /"dist-tags" must be an object/],
    ["a non-string tag", JSON.stringify({ name: "bad", "dist-tags": { latest: 1 }, versions: {} }), /dist-tags\.latest/],
  ];
  for (const [what, body, message] of malformed) {
    it(`a malformed packument (${what}) is E_REGISTRY_RESPONSE`, async () => {
      registry.set("/bad", { body: Buffer.from(body) });
      await expect(client().packument("bad")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(message) });
    });
  }

  it("a tag naming a missing version, an unknown tag, and a 404 are E_REGISTRY_RESPONSE", async () => {
    registry.publish("t", [{ version: "1.0.0", tarball: tgz }], { latest: "1.0.0", canary: "2.0.0" });
    const answer = await client().packument("t");
    if (answer.status !== "ok") throw new Error("expected 200");
    expect(() => resolveSpec(answer.packument, "canary")).toThrow(expect.objectContaining({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/names version 2\.0\.0, which the packument does not have/) }));
    expect(() => resolveSpec(answer.packument, "beta")).toThrow(expect.objectContaining({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/no dist-tag "beta"/) }));
    expect(resolveSpec(answer.packument, "1.0.0").version).toBe("1.0.0");
    await expect(client().packument("nothing-here")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/404/) });
  });

  it("a tarball that does not match dist.integrity is E_PACKAGE_INTEGRITY", async () => {
    registry.publish("lie", [{ version: "1.0.0", tarball: tgz, integrity: sri(Buffer.from("something else")) }], { latest: "1.0.0" });
    const answer = await client().packument("lie");
    if (answer.status !== "ok") throw new Error("expected 200");
    await expect(client().tarball(resolveSpec(answer.packument, "latest"), "lie")).rejects.toMatchObject({ code: "E_PACKAGE_INTEGRITY" });
  });

  it("oversized packuments and tarballs are refused without reading them all", async () => {
    registry.set("/huge", { body: Buffer.alloc(2 * 1024 * 1024, 32) });
    await expect(client({ maxPackumentBytes: 1024 * 1024 }).packument("huge")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/over the 1048576-byte cap/) });
    const big = Buffer.alloc(300_000, 1);
    registry.publish("big", [{ version: "1.0.0", tarball: big }], { latest: "1.0.0" });
    const version: PackumentVersion = { version: "1.0.0", tarball: new URL(registry.tarballPath("big", "1.0.0").slice(1), registry.url).href, integrity: sri(big) };
    await expect(client({ maxTarballBytes: 100_000 }).tarball(version, "big")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/cap/) });
  });

  it("a tarball URL on another origin is refused before any request (the token never leaves)", async () => {
    const before = registry.requests.length;
    await expect(client().tarball({ version: "1.0.0", tarball: "http://127.0.0.2:1/x.tgz", integrity: sri(tgz) }, "x")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE", message: expect.stringMatching(/not the registry's origin/) });
    expect(registry.requests.length).toBe(before);
  });
});
