import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli-runner.js";
import { COUNTER_MAIN } from "../support/mod-fixture.js";

const MINISIGN = spawnSync("minisign", ["-v"]).status === 0;

describe("modhost keygen and modhost pack", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-pack-"));
    await mkdir(join(dir, "counter"));
    await writeFile(join(dir, "counter", "mod.json"), JSON.stringify({ name: "counter", version: "1.0.0", entry: "main.ts", permissions: [] }));
    await writeFile(join(dir, "counter", "main.ts"), COUNTER_MAIN);
    await writeFile(join(dir, "counter", "main.test.ts"), "// tests are not packed");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("keygen writes a mode-600 secret key and a public key, and never overwrites them", async () => {
    const made = await runCli(["keygen", "--out", join(dir, "keys"), "--json"]);
    expect(made.code).toBe(0);
    const key = JSON.parse(made.stdout) as { keyId: string; secretKeyFile: string; publicKeyFile: string };
    expect(key.keyId).toMatch(/^[0-9A-F]{16}$/);
    expect((await stat(key.secretKeyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(key.publicKeyFile, "utf8")).toMatch(new RegExp(`^untrusted comment: minisign public key ${key.keyId}\\nRW[A-Za-z0-9+/=]{54}\\n$`));
    const secretBefore = await readFile(key.secretKeyFile, "utf8");
    const again = await runCli(["keygen", "--out", join(dir, "keys")]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/E_KEY_INVALID .*modhost\.key exists; keygen never overwrites a key/);
    expect(await readFile(key.secretKeyFile, "utf8")).toBe(secretBefore);
  });

  it("the same sources pack to the same sha256 twice, and the tarball is npm's layout", async () => {
    const first = await runCli(["pack", join(dir, "counter"), "--key", join(dir, "keys", "modhost.key"), "--out", join(dir, "out1"), "--name", "@studio/counter", "--json"], { timeoutMs: 60_000 });
    const second = await runCli(["pack", join(dir, "counter"), "--key", join(dir, "keys", "modhost.key"), "--out", join(dir, "out2"), "--name", "@studio/counter", "--json"], { timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { file: string; sha256: string; files: number };
    const b = JSON.parse(second.stdout) as { file: string; sha256: string };
    expect(a.file).toMatch(/studio-counter-1\.0\.0\.tgz$/);
    expect(a.sha256).toBe(b.sha256);
    expect((await readFile(a.file)).equals(await readFile(b.file))).toBe(true);
    const listing = execFileSync("tar", ["tzf", a.file], { encoding: "utf8" }).trim().split("\n");
    expect(listing).toEqual(["package/main.ts", "package/mod.json", "package/modhost-listing.json", "package/modhost-listing.json.minisig", "package/package.json"]);
    expect(gunzipSync(await readFile(a.file)).length % 512).toBe(0);
  });

  it.runIf(MINISIGN)("minisign -V verifies the signed listing with the keygen public key (interop)", async () => {
    const tgz = join(dir, "out1", "studio-counter-1.0.0.tgz");
    const unpacked = join(dir, "unpacked");
    await mkdir(unpacked, { recursive: true });
    execFileSync("tar", ["xzf", tgz, "-C", unpacked]);
    const out = execFileSync("minisign", ["-V", "-p", join(dir, "keys", "modhost.pub"), "-m", join(unpacked, "package", "modhost-listing.json")], { encoding: "utf8" });
    expect(out).toMatch(/Signature and comment signature verified/);
    expect(out).toMatch(/Trusted comment: modhost package @studio\/counter@1\.0\.0 mod counter/);
    // Every listed file's sha256, checked with the standard tool too.
    const listing = JSON.parse(await readFile(join(unpacked, "package", "modhost-listing.json"), "utf8")) as { files: { path: string; sha256: string }[] };
    const sums = listing.files.map((f) => `${f.sha256}  ${f.path}`).join("\n");
    await writeFile(join(unpacked, "SUMS"), `${sums}\n`);
    expect(execFileSync("sha256sum", ["-c", "../SUMS"], { cwd: join(unpacked, "package"), encoding: "utf8" })).not.toMatch(/FAILED/);
    // A tampered listing fails minisign too.
    await writeFile(join(unpacked, "package", "modhost-listing.json"), (await readFile(join(unpacked, "package", "modhost-listing.json"), "utf8")).replace("1.0.0", "9.0.0"));
    const bad = spawnSync("minisign", ["-V", "-p", join(dir, "keys", "modhost.pub"), "-m", join(unpacked, "package", "modhost-listing.json")]);
    expect(bad.status).not.toBe(0);
  });

  it("minisign is installed where these tests run (CI installs the Debian package)", () => {
    expect(MINISIGN, "install it: apt-get install -y minisign").toBe(true);
  });

  it("a mod that fails the check gate is not packed", async () => {
    await mkdir(join(dir, "broken"), { recursive: true });
    await writeFile(join(dir, "broken", "mod.json"), JSON.stringify({ name: "broken", version: "1.0.0", entry: "main.ts", permissions: [] }));
    await writeFile(join(dir, "broken", "main.ts"), `import { defineMod } from "@modhost/sdk";\nexport default defineMod({ init: () => ({ n: 0 }), on: { hit(s: { n: number }) { const x: string = s.n; return x; } } });\n`);
    const packed = await runCli(["pack", join(dir, "broken"), "--key", join(dir, "keys", "modhost.key"), "--out", join(dir, "out-broken")], { timeoutMs: 60_000 });
    expect(packed.code).toBe(1);
    expect(packed.stderr).toMatch(/E_TYPE/);
    expect(packed.stderr).toMatch(/not packed/);
    await expect(readdir(join(dir, "out-broken"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("pack refuses a missing or damaged key before doing anything", async () => {
    const missing = await runCli(["pack", join(dir, "counter"), "--key", join(dir, "nope.key")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_KEY_INVALID/);
    const usage = await runCli(["pack", join(dir, "counter")]);
    expect(usage.code).toBe(2);
  });
});
