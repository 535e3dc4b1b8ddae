import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { checkToken, generateToken } from "../admin/admin-token.js";
import { messageOf } from "../errors/modhost-error.js";
import { usageError } from "./cli-args.js";

/** A token read from its file, or generated into it. */
export interface TokenFromFile {
  readonly token: string;
  /** Was it generated just now? */
  readonly created: boolean;
  /** Can users other than the owner read the file? (Worth a warning.) */
  readonly readableByOthers: boolean;
}

/**
 * Reads the admin token from `file`, or, when the file does not exist, generates a random one
 * and writes it there (mode 0600, never overwriting a file that appeared meanwhile). A file that
 * cannot be read or holds no valid token is a usage error.
 */
export async function readOrCreateToken(file: string): Promise<TokenFromFile> {
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw usageError(`cannot read the token file ${file}: ${messageOf(err)}`);
  }
  if (text === undefined) {
    const token = generateToken();
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return readOrCreateToken(file);
      throw usageError(`cannot write the token file ${file}: ${messageOf(err)}`);
    }
    return { token, created: true, readableByOthers: false };
  }
  let token: string;
  try {
    token = checkToken(text.trim(), `the token file ${file}`);
  } catch (err) {
    throw usageError(messageOf(err));
  }
  const mode = (await stat(file)).mode;
  return { token, created: false, readableByOthers: process.platform !== "win32" && (mode & 0o077) !== 0 };
}
