import { mkdir, open } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { formatPublicKeyFile, formatSecretKeyFile, generateKeyPair, publicKeyLine } from "../registry/minisign-key.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";

const FLAGS = { out: { type: "string" }, json: { type: "boolean" } } as const;

/** The key files keygen writes inside --out. */
export const PUBLIC_KEY_FILE = "modhost.pub";
export const SECRET_KEY_FILE = "modhost.key";

/** Help for `modhost keygen --help`. */
export const KEYGEN_HELP = [
  "Makes an Ed25519 signing key pair in minisign's formats: <dir>/modhost.pub (public, give it to",
  "operators for their trusted keys file) and <dir>/modhost.key (secret, unencrypted, mode 600).",
  "Existing key files are never overwritten. The public key also works with `minisign -V -p`.",
  "",
  "Options:",
  "  --out <dir>   where to write the two files (created if missing)",
  "  --json        print { keyId, publicKey, publicKeyFile, secretKeyFile }",
].join("\n");

/** `modhost keygen --out <dir>`. */
export async function keygenCommand(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs("keygen", args, FLAGS, { min: 0, max: 0, names: "" });
  if (values.out === undefined) throw usageError("modhost keygen: --out <dir> is required");
  const out = cliOutput(values.json === true);
  const dir = resolve(values.out);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = generateKeyPair();
  const secretFile = join(dir, SECRET_KEY_FILE);
  const publicFile = join(dir, PUBLIC_KEY_FILE);
  // Both are created exclusively ("wx"): a key that exists is never replaced, even in a race.
  await writeNew(secretFile, formatSecretKeyFile(key), 0o600);
  await writeNew(publicFile, formatPublicKeyFile(key.publicKey), 0o644);
  const line = publicKeyLine(key.publicKey);
  if (out.json) out.data({ keyId: key.keyId, publicKey: line, publicKeyFile: publicFile, secretKeyFile: secretFile });
  else {
    out.line(`key ${key.keyId}`);
    out.line(`  secret key: ${secretFile} (mode 600: keep it private, never publish it)`);
    out.line(`  public key: ${publicFile}`);
    out.line("");
    out.line("An operator trusts it for a mod with this entry in the trusted keys file:");
    out.line(`  { "key": "${line}", "mods": ["<mod name>"] }`);
  }
  return EXIT_CODES.ok;
}

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, "wx", mode);
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") throw new ModhostError("E_KEY_INVALID", `${file} exists; keygen never overwrites a key (choose another --out)`, { file });
    throw new ModhostError("E_KEY_INVALID", `cannot create ${file}: ${messageOf(err)}`, { file }, { cause: err });
  }
  try {
    await handle.writeFile(text);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
