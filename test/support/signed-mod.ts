import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./cli-runner.js";

/** A publisher's workspace: a key pair made by `modhost keygen` and a folder for mods and tarballs. */
export interface Publisher {
  readonly dir: string;
  readonly secretKey: string;
  readonly publicKeyFile: string;
  /** The public key line (what a trusted keys file lists). */
  readonly publicKey: string;
  readonly keyId: string;
  /** Writes a mod's files under dir/src/<folder> and packs it with `modhost pack`; resolves with the tarball's path and sha256. */
  pack(folder: string, files: Record<string, string | object>, options?: { name?: string }): Promise<{ file: string; sha256: string; integrity: string }>;
  cleanup(): Promise<void>;
}

/** Makes a key with the real CLI (`modhost keygen --json`). */
export async function makePublisher(): Promise<Publisher> {
  const dir = await mkdtemp(join(tmpdir(), "modhost-publisher-"));
  const made = await runCli(["keygen", "--out", join(dir, "keys"), "--json"]);
  if (made.code !== 0) throw new Error(`keygen failed: ${made.stderr}`);
  const key = JSON.parse(made.stdout) as { keyId: string; publicKey: string; publicKeyFile: string; secretKeyFile: string };
  return {
    dir,
    secretKey: key.secretKeyFile,
    publicKeyFile: key.publicKeyFile,
    publicKey: key.publicKey,
    keyId: key.keyId,
    async pack(folder, files, options = {}) {
      const modDir = join(dir, "src", folder);
      await rm(modDir, { recursive: true, force: true });
      for (const [path, content] of Object.entries(files)) {
        await mkdir(join(modDir, path, ".."), { recursive: true });
        await writeFile(join(modDir, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
      }
      const out = join(dir, "out", folder);
      const packed = await runCli(["pack", modDir, "--key", key.secretKeyFile, "--out", out, "--json", ...(options.name !== undefined ? ["--name", options.name] : [])], { timeoutMs: 60_000 });
      if (packed.code !== 0) throw new Error(`pack failed (${packed.code}): ${packed.stderr}${packed.stdout}`);
      return JSON.parse(packed.stdout) as { file: string; sha256: string; integrity: string };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A trusted keys file trusting `publicKey` for `mods` (with optional expiry/revocation). */
export async function writeTrust(file: string, keys: readonly { key: string; mods: string[]; expires?: string; revoked?: boolean }[]): Promise<string> {
  await writeFile(file, JSON.stringify({ keys }, null, 2));
  return file;
}
