/**
 * `npm run demo`: the arena under live load while its combat rules are hot-patched. Prints the
 * story, then one JSON line (see DemoResult); exit code 0 on success, 1 on failure, 2 on bad
 * arguments, 130 when interrupted. `--help` lists the options.
 */
import { DEMO_USAGE, parseDemoArgs, type DemoOptions } from "./demo-options.js";
import { runDemo } from "./run-demo.js";
import { Story } from "./story.js";

async function main(): Promise<number> {
  let options: DemoOptions | "help";
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${DEMO_USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  const quiet = options.quiet;
  const story = new Story((line) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  });
  story.line(`modhost arena demo: ${options.bots} bots, ${options.seconds} s of play, three hot patches of the combat mod`);
  // Ctrl-C ends the run cleanly: bots, server, sandbox and temporary folder are closed first.
  const abort = new AbortController();
  process.once("SIGINT", () => {
    story.line("interrupted: closing everything");
    abort.abort(new Error("interrupted"));
  });
  let result;
  try {
    result = await runDemo(options, story, abort.signal);
  } catch (err) {
    if (abort.signal.aborted) return 130;
    throw err;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
