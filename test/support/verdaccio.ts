import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./verdaccio-main.cjs", import.meta.url));

/** A real npm registry (Verdaccio) in a temp folder on a random loopback port. */
export interface TestRegistry {
  readonly url: string;
  /** A token of the registry's one user (access and publish need it). */
  readonly token: string;
  /** `npm publish <tarball> --registry <url> [--tag <tag>]` with the real npm; resolves with its output. */
  publish(tarball: string, tag?: string): Promise<string>;
  /** `npm dist-tag add <name>@<version> <tag>`. */
  distTag(spec: string, tag: string): Promise<string>;
  /** Stops the registry process and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(" ")} exited ${code}:\n${out}`));
    });
  });
}

/** Starts Verdaccio (storage, config, htpasswd and npm's config in a temp folder) and makes a user. */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "modhost-verdaccio-"));
  const config = [
    `storage: ${join(dir, "storage")}`,
    "auth:",
    "  htpasswd:",
    `    file: ${join(dir, "htpasswd")}`,
    "    max_users: 10",
    "uplinks: {}",
    "packages:",
    "  '**':",
    "    access: $authenticated",
    "    publish: $authenticated",
    "    unpublish: $authenticated",
    "log: { type: stdout, format: json, level: error }",
    "",
  ].join("\n");
  await writeFile(join(dir, "config.yaml"), config);
  const child: ChildProcess = spawn(process.execPath, [MAIN, join(dir, "config.yaml")], { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => reject(new Error(`verdaccio did not start in 60 s:\n${err}`)), 60_000);
      child.stderr?.setEncoding("utf8").on("data", (c: string) => (err += c));
      child.stdout?.setEncoding("utf8").on("data", (c: string) => {
        out += c;
        const match = /\{"port":(\d+)\}/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        reject(new Error(`verdaccio exited ${code}:\n${err}`));
      });
    });
    const url = `http://127.0.0.1:${port}/`;
    const created = await fetch(new URL("-/user/org.couchdb.user:publisher", url), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "publisher", password: "test-password-1" }),
    });
    const token = ((await created.json()) as { token?: string }).token;
    if (token === undefined) throw new Error(`verdaccio did not give a token (${created.status})`);
    const npmrc = join(dir, ".npmrc");
    await writeFile(npmrc, `//127.0.0.1:${port}/:_authToken=${token}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, NPM_CONFIG_USERCONFIG: npmrc, NPM_CONFIG_CACHE: join(dir, "npm-cache"), NPM_CONFIG_UPDATE_NOTIFIER: "false", NPM_CONFIG_AUDIT: "false", NPM_CONFIG_FUND: "false" };
    for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
    const npm = (args: readonly string[]): Promise<string> => run("npm", [...args, "--registry", url], env);
    return {
      url,
      token,
      publish: (tarball, tag) => npm(["publish", tarball, ...(tag !== undefined ? ["--tag", tag] : [])]),
      distTag: (spec, tag) => npm(["dist-tag", "add", spec, tag]),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
