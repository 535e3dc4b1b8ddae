// Which modhost build the benchmarks measure. A full run takes minutes, and engine/dist may be
// rebuilt meanwhile (by `npm run build` elsewhere in the workspace): a sandbox process or a child
// that starts mid-rebuild would load half of the old build and half of the new. So run.js copies
// engine/package.json and engine/dist into benchmarks/.engine/<pid>/ once, checks that the copy
// imports and starts a sandbox process, and points MODHOST_BENCH_ENGINE at it; every benchmark
// (and every child process, which inherits the variable) imports modhost from there. The copy
// lives inside the workspace, so its dependencies (isolated-vm, typescript, the SDK) resolve as
// usual.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ENGINE = fileURLToPath(new URL("../../engine/", import.meta.url));
const SNAPSHOTS = fileURLToPath(new URL("../.engine/", import.meta.url));

/** The modhost module: from MODHOST_BENCH_ENGINE's copy if set, the workspace's otherwise. */
export function loadModhost() {
  const dir = process.env.MODHOST_BENCH_ENGINE;
  return dir ? import(pathToFileURL(join(dir, "dist", "index.js")).href) : import("modhost");
}

/**
 * A module of the measured build's dist/ (`path` below it, e.g. "backends/framing.js"): from
 * MODHOST_BENCH_ENGINE's copy if set, the workspace's engine otherwise.
 */
export function importEngineModule(path) {
  return import(pathToFileURL(join(process.env.MODHOST_BENCH_ENGINE ?? ENGINE, "dist", path)).href);
}

/**
 * Engine copies named on a probe's command line as `dir[=label]` (each a copy of engine/ with
 * package.json and dist/ inside the workspace); none: the workspace's modhost as "modhost".
 */
export function engineArgs(args) {
  return args.length === 0 ? [{ label: "modhost", url: "modhost" }] : args.map((arg) => {
    const [dir, label = dir] = arg.split("=");
    return { label, url: pathToFileURL(join(dir, "dist", "index.js")).href };
  });
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
};

/** Does this copy import, and start a sandbox process (which loads its own modules from it)? */
async function works(dir) {
  const { ModHost } = await import(pathToFileURL(join(dir, "dist", "index.js")).href);
  const modsDir = await mkdtemp(join(tmpdir(), "modhost-bench-empty-"));
  try {
    await (await ModHost.create({ modsDir, isolation: "process" })).close();
  } finally {
    await rm(modsDir, { recursive: true, force: true });
  }
}

/**
 * Copies the engine build for this run and sets MODHOST_BENCH_ENGINE (unless it is set already:
 * a nested run uses its parent's copy). Retries while the copy does not work (a build in
 * progress). Returns a function that removes the copy. Copies left by dead runs are removed.
 */
export async function snapshotEngine() {
  if (process.env.MODHOST_BENCH_ENGINE) return async () => {};
  await mkdir(SNAPSHOTS, { recursive: true });
  for (const name of await readdir(SNAPSHOTS)) {
    if (/^\d+(-\d+)?$/.test(name) && !alive(Number(name.split("-")[0]))) await rm(join(SNAPSHOTS, name), { recursive: true, force: true });
  }
  let lastError;
  for (let attempt = 1; attempt <= 10; attempt++) {
    const dir = join(SNAPSHOTS, `${process.pid}-${attempt}`);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      // A build in progress can delete a file between listing and copying it: retried below.
      await cp(join(ENGINE, "package.json"), join(dir, "package.json"));
      await cp(join(ENGINE, "dist"), join(dir, "dist"), { recursive: true });
      await works(dir);
      process.env.MODHOST_BENCH_ENGINE = dir;
      return async () => {
        delete process.env.MODHOST_BENCH_ENGINE;
        await rm(dir, { recursive: true, force: true });
      };
    } catch (err) {
      lastError = err;
      await rm(dir, { recursive: true, force: true });
      process.stderr.write(`[bench] the engine build does not start yet (${err.message.split("\n")[0]}); copying again in 3 s\n`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
  throw new Error(`engine/dist did not give a working copy in 10 tries: ${lastError?.message}`);
}

/** sha256 over the relative paths and contents of every file under `dir`, in sorted order. */
async function treeHash(dir) {
  const hash = createHash("sha256");
  const walk = async (sub) => {
    const entries = (await readdir(join(dir, sub), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) hash.update(`${rel}\0`).update(await readFile(join(dir, rel))).update("\0");
    }
  };
  await walk("");
  return hash.digest("hex");
}

/**
 * What was measured: the workspace's git commit, the engine's files that differ from it (the
 * build may hold uncommitted work), and a hash of the dist that ran (the copy, or engine/dist).
 */
export async function engineInfo() {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const git = (...args) => {
    try {
      return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trimEnd();
    } catch {
      return undefined;
    }
  };
  const status = git("status", "--porcelain", "--", "engine");
  const dist = process.env.MODHOST_BENCH_ENGINE ? join(process.env.MODHOST_BENCH_ENGINE, "dist") : join(ENGINE, "dist");
  return {
    commit: git("rev-parse", "--short=12", "HEAD") ?? "unknown",
    uncommitted: status === undefined ? [] : status.split("\n").filter((line) => line !== "").map((line) => line.slice(3)),
    distSha256: (await treeHash(dist)).slice(0, 16),
    snapshot: Boolean(process.env.MODHOST_BENCH_ENGINE),
  };
}
