import { setFlagsFromString } from "node:v8";
import { isMainThread } from "node:worker_threads";

/**
 * A V8 boolean flag that this process turns off for the span of one call and on again after
 * (`v8.setFlagsFromString`). V8 reads such a flag when it compiles a script or makes an isolate, so
 * the call's compile or isolate keeps the setting, and what comes after gets V8's default again.
 *
 * A process started with the flag off (V8's spellings: one or two dashes, `no`, `no-` or `no_`,
 * hyphens or underscores in the name; the last one on the command line wins, as in V8) is left
 * alone: turning the flag back on after the call would undo what the process was started with.
 * So is a process started with a flag that implies it off (`impliedOffBy`: `--predictable`
 * implies `--no-concurrent-recompilation`). In a worker thread nothing is switched: a worker's
 * `process.execArgv` need not be the process's, so the process's flags cannot be read there. Not
 * seen: the flag set at runtime by the game (`v8.setFlagsFromString`) is set back on after the
 * call; and on Node 20 every `setFlagsFromString` applies V8's implications again, so a flag the
 * process changed at runtime against one of them would be reset. `fn` must be synchronous: the
 * flag is back on when it returns.
 */
export class V8FlagSwitch {
  readonly #name: string;
  readonly #offForProcess: boolean;

  /**
   * `name` as V8 spells it with hyphens, e.g. "concurrent-recompilation"; `impliedOffBy`, the flags
   * whose being on turns it off (V8's flag-definitions.h).
   */
  constructor(name: string, impliedOffBy: readonly string[] = []) {
    this.#name = name;
    this.#offForProcess = !isMainThread || startedWith(name) === false || impliedOffBy.some((flag) => startedWith(flag) === true);
  }

  /** Runs `fn` (synchronous) with the flag off. */
  off<T>(fn: () => T): T {
    if (this.#offForProcess) return fn();
    setFlagsFromString(`--no-${this.#name}`);
    try {
      return fn();
    } finally {
      setFlagsFromString(`--${this.#name}`);
    }
  }
}

/**
 * Whether this process was started with V8 flag `name` on (true) or off (false), by the last of its
 * spellings on the command line (as in V8: one or two dashes, "no" alone or joined by a hyphen or
 * an underscore, hyphens or underscores in the name); undefined if none.
 */
function startedWith(name: string): boolean | undefined {
  const pattern = new RegExp(`^--?(no[-_]?)?${name.replace(/-/g, "[-_]")}$`);
  let setting: boolean | undefined;
  for (const arg of process.execArgv) {
    const match = pattern.exec(arg);
    if (match !== null) setting = match[1] === undefined;
  }
  return setting;
}
