/** A CLI command: its usage line, a one-line summary, and what it does. */
export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly help?: string;
  run(args: readonly string[]): Promise<number>;
}

function notYet(name: string): () => Promise<number> {
  return () => {
    console.error(`modhost ${name}: not available in this build yet`);
    return Promise.resolve(2);
  };
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  { name: "init", usage: "init <dir>", summary: "scaffold a new mod (mod.json, main.ts, tsconfig, a test)", run: notYet("init") },
  { name: "check", usage: "check <modDir> [--against <dir>] [--json]", summary: "compile, type-check and safety-check a mod; diff it against another version", run: notYet("check") },
  { name: "serve", usage: "serve <modsDir> [--state <dir>] [--port <n>] [--token-file <f>] [--watch]", summary: "run a host with the admin channel", run: notYet("serve") },
  { name: "dev", usage: "dev <modDir> [--server <url>]", summary: "watch a mod and push every save to a server", run: notYet("dev") },
  { name: "status", usage: "status --server <url>", summary: "list the mods of a running server", run: notYet("status") },
  { name: "reload", usage: "reload <mod> --server <url>", summary: "reload a mod from disk", run: notYet("reload") },
  { name: "rollback", usage: "rollback <mod> --server <url>", summary: "return a mod to its previous version", run: notYet("rollback") },
  { name: "approve", usage: "approve <mod> --server <url>", summary: "apply a patch held for approval", run: notYet("approve") },
  { name: "deploy", usage: "deploy <modDir> --server <url>", summary: "send a mod's files to a server and swap it in", run: notYet("deploy") },
  { name: "logs", usage: "logs [mod] --server <url> [--follow]", summary: "show mods' log lines", run: notYet("logs") },
  { name: "metrics", usage: "metrics --server <url>", summary: "show the server's metrics", run: notYet("metrics") },
];
