import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { parseSecretKeyFile } from "../registry/minisign-key.js";
import { packMod } from "../registry/mod-packer.js";
import { modTsconfigTypes } from "../compile/mod-tsconfig-types.js";
import { gateMod, modFolder, typeFiles } from "./check-command.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";
import { formatErrorLine } from "./report-format.js";

const FLAGS = {
  key: { type: "string" },
  out: { type: "string" },
  name: { type: "string" },
  types: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

/** Help for `modhost pack --help`. */
export const PACK_HELP = [
  "Checks the mod as `modhost check` does (a mod that fails is not packed), then writes a signed,",
  "npm-compatible tarball: package.json, mod.json, the sources, and modhost-listing.json (every file",
  "with its sha256, the mod's name and version, the key id) with its minisign signature.",
  "The same sources and key always give the same bytes. Publish it with `npm publish <tarball>`.",
  "",
  "Options:",
  "  --key <file>            the secret key (from modhost keygen, or minisign -G -W)",
  "  --out <dir>             where to write the .tgz (default: the current folder)",
  "  --name <npm name>       the npm package name (default: the mod's name)",
  "  --types <file.d.ts>     the game's declarations for the type-check (repeatable), added to",
  "                          those the mod's tsconfig.json names (as modhost check reads them)",
  "  --json                  print { file, package, version, mod, keyId, sha256, integrity }",
].join("\n");

/** `modhost pack <modDir> --key <secretKey> [--out <dir>] [--name <npm name>]`. */
export async function packCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("pack", args, FLAGS, { min: 1, max: 1, names: "the mod folder to pack" });
  if (values.key === undefined) throw usageError("modhost pack: --key <secret key file> is required");
  const out = cliOutput(values.json === true);
  const dir = await modFolder(positionals[0] as string, "pack");
  const keyFile = resolve(values.key);
  let keyText: string;
  try {
    keyText = await readFile(keyFile, "utf8");
  } catch (err) {
    throw new ModhostError("E_KEY_INVALID", `cannot read the secret key ${keyFile}: ${messageOf(err)}`, { file: keyFile }, { cause: err });
  }
  const key = parseSecretKeyFile(keyText, keyFile);

  // The game's types as check finds them: --types plus what the mod's tsconfig.json names.
  const types = [...new Set([...(await typeFiles("pack", values.types ?? [])), ...(await modTsconfigTypes(dir)).types])];
  const gate = await gateMod(dir, types);
  const errors = gate.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    for (const d of errors) out.note(formatErrorLine({ code: d.code as Parameters<typeof formatErrorLine>[0]["code"], message: d.message, ...(d.file !== undefined ? { file: d.file } : {}), ...(d.line !== undefined ? { line: d.line } : {}), ...(d.column !== undefined ? { column: d.column } : {}) }, out.errStyle));
    out.note(`modhost pack: not packed: ${errors.length} error${errors.length > 1 ? "s" : ""} (run modhost check ${positionals[0] as string} for details)`);
    if (out.json) out.data({ ok: false, diagnostics: gate.diagnostics });
    return EXIT_CODES.failed;
  }

  const packed = await packMod(dir, key, values.name !== undefined ? { packageName: values.name } : {});
  const outDir = resolve(values.out ?? ".");
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, packed.fileName);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, packed.tarball);
  await rename(temp, file);
  const summary = { ok: true, file, package: packed.listing.package, version: packed.listing.version, mod: packed.listing.mod, keyId: packed.listing.keyId, files: packed.listing.files.length, sha256: packed.sha256, integrity: packed.integrity };
  if (out.json) out.data(summary);
  else {
    out.line(`packed ${summary.package}@${summary.version} (mod ${summary.mod}, ${summary.files} files, signed by ${summary.keyId})`);
    out.line(`  ${file}`);
    out.line(`  sha256 ${summary.sha256}`);
    out.line(`publish with: npm publish ${file} --registry <url> [--tag <channel>]`);
  }
  return EXIT_CODES.ok;
}
