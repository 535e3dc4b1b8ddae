import { gunzipSync, gzipSync } from "node:zlib";
import { extract, pack, type Header } from "tar-stream";
import { ModhostError } from "../errors/modhost-error.js";

/**
 * npm-compatible package tarballs: gzip of a tar whose entries sit under `package/`.
 * Writing is deterministic (the same files always give the same bytes): entries sorted by path,
 * fixed mtime (npm's own 1985-10-26T08:15:00Z), mode 644, uid/gid 0, no user names, no folder
 * entries, gzip level 9 with a fixed header (mtime 0, OS byte "unix").
 * Reading is strict, for tarballs from anyone: regular files only (no links, devices or fifos),
 * no absolute paths, no `..`, no backslashes, every path under `package/`, no duplicates, and caps
 * on entries, per-file size, total size and the compressed size.
 */

/** The folder every npm tarball's files sit in. */
export const PACKAGE_ROOT = "package/";
/** npm's fixed mtime for packed files. */
const FIXED_MTIME = new Date("1985-10-26T08:15:00.000Z");

/** Caps a tarball reader enforces. */
export interface TarballLimits {
  /** Largest compressed tarball, bytes. */
  readonly maxTarballBytes: number;
  /** Largest single file, bytes. */
  readonly maxFileBytes: number;
  /** Largest sum of file sizes (and of the uncompressed tar), bytes. */
  readonly maxTotalBytes: number;
  /** Most entries (files and folders). */
  readonly maxEntries: number;
}

/** The default caps: what a mod may be (1000 files of 4 MiB) with room for the package files. */
export const DEFAULT_TARBALL_LIMITS: TarballLimits = {
  maxTarballBytes: 16 * 1024 * 1024,
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxEntries: 1010,
};

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Writes `files` (path relative to the package root -> bytes) as a reproducible .tgz. */
export async function writeTarball(files: ReadonlyMap<string, Uint8Array>): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of tar) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const path of [...files.keys()].sort(compare)) {
    const problem = pathProblem(path);
    if (problem !== undefined) throw new ModhostError("E_PACKAGE_INVALID", problem, { file: path });
    const bytes = Buffer.from(files.get(path) as Uint8Array);
    const header: Header = { name: PACKAGE_ROOT + path, size: bytes.length, mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0, uname: "", gname: "", type: "file", linkname: "", devmajor: 0, devminor: 0 };
    await new Promise<void>((resolve, reject) => tar.entry(header, bytes, (err) => (err ? reject(err) : resolve())));
  }
  tar.finalize();
  await done;
  const gz = gzipSync(Buffer.concat(chunks), { level: 9 });
  // The gzip header's mtime is already 0; pin the OS byte so other platforms give the same bytes.
  gz[9] = 3;
  return gz;
}

/** Why `path` (relative to the package root) may not be in a package, or undefined. */
export function pathProblem(path: string): string | undefined {
  if (path === "") return "an empty path";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return `${JSON.stringify(path)} is an absolute path`;
  if (path.includes("\\")) return `${JSON.stringify(path)} has a backslash`;
  if (path.includes("\0")) return `${JSON.stringify(path)} has a NUL character`;
  const segments = path.split("/");
  if (segments.includes("..")) return `${JSON.stringify(path)} climbs out of the package ("..")`;
  if (segments.some((s) => s === "" || s === ".")) return `${JSON.stringify(path)} has an empty or "." segment`;
  return undefined;
}

function refuse(message: string, file?: string): ModhostError {
  return new ModhostError("E_PACKAGE_INVALID", `the package tarball ${message}`, file !== undefined ? { file } : {});
}

/**
 * Reads a .tgz strictly (see the file comment); returns its files by path relative to `package/`.
 * Throws E_PACKAGE_INVALID for anything it refuses; nothing is written anywhere.
 */
export async function readTarball(tgz: Uint8Array, limits: TarballLimits = DEFAULT_TARBALL_LIMITS): Promise<Map<string, Buffer>> {
  if (tgz.length > limits.maxTarballBytes) throw refuse(`is ${tgz.length} bytes, over the ${limits.maxTarballBytes}-byte cap`);
  let tarBytes: Buffer;
  try {
    // A tar of the capped file sizes has at most 512 bytes of header and padding per entry.
    tarBytes = gunzipSync(tgz, { maxOutputLength: limits.maxTotalBytes + (limits.maxEntries + 2) * 1024 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") throw refuse(`unpacks to more than the ${limits.maxTotalBytes}-byte cap`);
    throw refuse(`is not a readable gzip file (${(err as Error).message}): truncated or damaged`);
  }
  const files = new Map<string, Buffer>();
  const reader = extract();
  let entries = 0;
  let total = 0;
  const read = (async () => {
    for await (const entry of reader) {
      const header = entry.header;
      entries++;
      if (entries > limits.maxEntries) throw refuse(`has more than ${limits.maxEntries} entries`);
      const name = header.name;
      if (!name.startsWith(PACKAGE_ROOT)) throw refuse(`holds ${JSON.stringify(name)}, outside ${PACKAGE_ROOT}`, name);
      const path = name.slice(PACKAGE_ROOT.length).replace(/\/$/, "");
      if (header.type === "directory") {
        if (path !== "" && pathProblem(path) !== undefined) throw refuse(`holds a folder ${pathProblem(path) ?? ""}`, path);
        entry.resume();
        continue;
      }
      if (header.type !== "file" && header.type !== "contiguous-file") throw refuse(`holds ${JSON.stringify(name)} of type ${header.type ?? "unknown"}: only regular files are allowed (no links, devices or fifos)`, path);
      const problem = pathProblem(path);
      if (problem !== undefined) throw refuse(`holds ${problem}`, path);
      if (files.has(path)) throw refuse(`holds ${path} twice`, path);
      const size = header.size ?? 0;
      if (size > limits.maxFileBytes) throw refuse(`holds ${path} of ${size} bytes, over the ${limits.maxFileBytes}-byte cap`, path);
      total += size;
      if (total > limits.maxTotalBytes) throw refuse(`holds more than ${limits.maxTotalBytes} bytes in all`, path);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(Buffer.from(chunk as Uint8Array));
      const bytes = Buffer.concat(chunks);
      if (bytes.length !== size) throw refuse(`is truncated inside ${path}`, path);
      files.set(path, bytes);
    }
  })();
  reader.end(tarBytes);
  try {
    await read;
  } catch (err) {
    reader.destroy();
    if (err instanceof ModhostError) throw err;
    throw refuse(`is not a valid tar archive (${(err as Error).message}): truncated or damaged`);
  }
  return files;
}
