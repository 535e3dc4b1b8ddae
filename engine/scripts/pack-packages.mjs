// Makes installable tarballs of `modhost` (engine/) and `@modhost/sdk` (scripts-sdk/), built, so a
// mod can be scaffolded and installed outside this repository before the packages are on a registry:
//
//   npm run pack                        -> packages/modhost-0.1.0.tgz, packages/modhost-sdk-0.1.0.tgz
//   npm run pack -- --out /some/dir     -> the same, into that folder
//   npm run pack -- --no-build          -> skip `npm run build` (the dist folders are already current)
//   modhost init shop --packages packages
//
// Prints JSON: { dir, packages: { "modhost": "/abs/modhost-0.1.0.tgz", "@modhost/sdk": "..." } }.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const WORKSPACES = ["engine", "scripts-sdk"];
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const args = process.argv.slice(2);
let out = join(REPO, "packages");
let build = true;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--out" && args[i + 1] !== undefined) out = resolve(args[++i]);
  else if (arg?.startsWith("--out=")) out = resolve(arg.slice("--out=".length));
  else if (arg === "--no-build") build = false;
  else {
    process.stderr.write(`pack-packages: unknown argument ${JSON.stringify(arg)} (allowed: --out <dir>, --no-build)\n`);
    process.exit(2);
  }
}

mkdirSync(out, { recursive: true });
// Build first: a tarball of a stale or missing dist would install a package that does not run.
// stdout goes to stderr so that this script's stdout is only its JSON.
if (build) execFileSync(npm, ["run", "build"], { cwd: REPO, stdio: ["ignore", 2, 2] });

const packages = {};
for (const workspace of WORKSPACES) {
  const pkg = JSON.parse(readFileSync(join(REPO, workspace, "package.json"), "utf8"));
  // --ignore-scripts: the workspace was just built; the root's `prepare` would build it again.
  const text = execFileSync(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", out, "--workspace", workspace], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", 2] });
  const [info] = JSON.parse(text);
  packages[pkg.name] = join(out, info.filename);
}
process.stdout.write(`${JSON.stringify({ dir: out, packages }, null, 2)}\n`);
