// A throwaway npm registry for the benchmarks that publish packages (registry.js, fleet.js):
// Verdaccio in a temp folder on a random loopback port, a user, and an .npmrc for `npm publish`.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Runs `command argv` with `env`; resolves with its stdout and stderr, rejects on a non-zero exit. */
export function runCommand(command, argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${argv.join(" ")}: ${code}\n${out}`))));
  });
}

/**
 * Starts Verdaccio with its storage in `dir` (test/support/verdaccio-main.cjs picks a free port).
 * Returns { url, token, publish(tgzFile), stop() }; stop() ends the process this started.
 */
export async function startVerdaccio(dir) {
  const config = join(dir, "config.yaml");
  await writeFile(config, [`storage: ${join(dir, "storage")}`, "auth:", "  htpasswd:", `    file: ${join(dir, "htpasswd")}`, "uplinks: {}", "packages:", "  '**':", "    access: $authenticated", "    publish: $authenticated", "log: { type: stdout, format: json, level: error }", ""].join("\n"));
  const main = fileURLToPath(new URL("../../test/support/verdaccio-main.cjs", import.meta.url));
  const child = spawn(process.execPath, [main, config], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("close", (code) => reject(new Error(`verdaccio exited ${code}`)));
  });
  const url = `http://127.0.0.1:${port}/`;
  const made = await fetch(new URL("-/user/org.couchdb.user:bench", url), { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bench", password: "bench-password-1" }) });
  const { token } = await made.json();
  await writeFile(join(dir, ".npmrc"), `//127.0.0.1:${port}/:_authToken=${token}\n`);
  const env = { ...process.env, NPM_CONFIG_USERCONFIG: join(dir, ".npmrc"), NPM_CONFIG_CACHE: join(dir, "npm-cache"), NPM_CONFIG_UPDATE_NOTIFIER: "false" };
  // npm_* variables of an enclosing `npm run` would point npm publish at the workspace's config.
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
  return {
    url,
    token,
    publish: (file) => runCommand("npm", ["publish", file, "--registry", url], env),
    stop: () =>
      new Promise((resolve) => {
        child.once("close", resolve);
        child.kill("SIGTERM");
      }),
  };
}
