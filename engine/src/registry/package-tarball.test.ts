import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { rawTarball } from "../../../test/support/package-builder.js";
import { DEFAULT_TARBALL_LIMITS, readTarball, writeTarball } from "./package-tarball.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("package tarballs", () => {
  it("the same files give the same bytes whatever order they come in", async () => {
    const a = await writeTarball(new Map([["b.ts", Buffer.from("b")], ["a/x.ts", Buffer.from("x")], ["mod.json", Buffer.from("{}")]]));
    const b = await writeTarball(new Map([["mod.json", Buffer.from("{}")], ["a/x.ts", Buffer.from("x")], ["b.ts", Buffer.from("b")]]));
    expect(sha(a)).toBe(sha(b));
    expect([...(await readTarball(a)).keys()]).toEqual(["a/x.ts", "b.ts", "mod.json"]);
  });

  it("reads a tarball with folder entries (as other packers write them)", async () => {
    const tgz = await rawTarball([{ header: { name: "package/", type: "directory" } }, { header: { name: "package/a.ts" }, body: Buffer.from("a") }]);
    expect([...(await readTarball(tgz)).keys()]).toEqual(["a.ts"]);
  });

  const hostile: [string, () => Promise<Buffer>, RegExp][] = [
    ["a traversal path", () => rawTarball([{ header: { name: "package/../../etc/x.ts" }, body: Buffer.from("x") }]), /climbs out|outside package/],
    ["a traversal inside package/", () => rawTarball([{ header: { name: "package/a/../../x.ts" }, body: Buffer.from("x") }]), /climbs out/],
    ["an absolute path", () => rawTarball([{ header: { name: "/etc/passwd" }, body: Buffer.from("x") }]), /outside package/],
    ["a symlink", () => rawTarball([{ header: { name: "package/link.ts", type: "symlink", linkname: "/etc/passwd" } }]), /type symlink/],
    ["a hard link", () => rawTarball([{ header: { name: "package/link.ts", type: "link", linkname: "package/a.ts" } }]), /type link/],
    ["a character device", () => rawTarball([{ header: { name: "package/dev", type: "character-device", devmajor: 1, devminor: 3 } }]), /type character-device/],
    ["a fifo", () => rawTarball([{ header: { name: "package/fifo", type: "fifo" } }]), /type fifo/],
    ["a backslash path", () => rawTarball([{ header: { name: "package/a\\..\\x.ts" }, body: Buffer.from("x") }]), /backslash/],
    ["a file listed twice", () => rawTarball([{ header: { name: "package/a.ts" }, body: Buffer.from("1") }, { header: { name: "package/a.ts" }, body: Buffer.from("2") }]), /twice/],
    ["a file over the size cap", () => rawTarball([{ header: { name: "package/big.ts" }, body: Buffer.alloc(DEFAULT_TARBALL_LIMITS.maxFileBytes + 1) }]), /over the .*-byte cap/],
    ["too many entries", () => rawTarball(Array.from({ length: DEFAULT_TARBALL_LIMITS.maxEntries + 1 }, (_, i) => ({ header: { name: `package/f${i}.ts` }, body: Buffer.from("x") }))), /more than \d+ entries/],
    ["a truncated gzip", async () => (await writeTarball(new Map([["a.ts", Buffer.alloc(5000, 7)]]))).subarray(0, 40), /not a readable gzip/],
    ["a truncated tar inside good gzip", async () => gzipSync((await import("node:zlib")).gunzipSync(await writeTarball(new Map([["a.ts", Buffer.alloc(5000, 7)]]))).subarray(0, 1500)), /truncated|not a valid tar/],
    ["not a tarball at all", async () => Buffer.from("<html>oops</html>"), /not a readable gzip/],
  ];
  for (const [what, make, message] of hostile) {
    it(`refuses ${what} (E_PACKAGE_INVALID)`, async () => {
      await expect(readTarball(await make())).rejects.toMatchObject({ code: "E_PACKAGE_INVALID", message: expect.stringMatching(message) });
    });
  }

  it("refuses a gzip bomb before inflating it all, and a compressed tarball over its cap", async () => {
    const bomb = gzipSync(Buffer.alloc(DEFAULT_TARBALL_LIMITS.maxTotalBytes + 2 * 1024 * 1024));
    await expect(readTarball(bomb)).rejects.toMatchObject({ code: "E_PACKAGE_INVALID", message: expect.stringMatching(/unpacks to more than/) });
    await expect(readTarball(Buffer.alloc(100), { ...DEFAULT_TARBALL_LIMITS, maxTarballBytes: 99 })).rejects.toMatchObject({ code: "E_PACKAGE_INVALID" });
  });
});
