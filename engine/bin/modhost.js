#!/usr/bin/env node
// The modhost command. The CLI itself never loads isolated-vm in this process (mods run in the
// sandbox child process), so no special Node flags are needed here; only `serve --isolation inline`
// does, and it says to start node with --no-node-snapshot.
import("../dist/cli/main.js").then((cli) => cli.main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
