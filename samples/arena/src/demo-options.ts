/** What the demo runs. */
export interface DemoOptions {
  /** Bots that join and play (default 50). */
  readonly bots: number;
  /** Seconds of play, split 40 % before the patches, 20 % between them, 40 % after (default 8). */
  readonly seconds: number;
  /** Where the mods' isolates run (default "process": a supervised sandbox process). */
  readonly isolation: "process" | "inline";
  /** Seed of the world and the bots. */
  readonly seed: number;
  /** Print only the final JSON line. */
  readonly quiet: boolean;
}

/** The demo's defaults. */
export const DEFAULT_DEMO: DemoOptions = { bots: 50, seconds: 8, isolation: "process", seed: 1, quiet: false };

/** The demo's `--help` text. */
export const DEMO_USAGE = `usage: node samples/arena/dist/demo.js [--bots N] [--seconds S] [--isolation process|inline] [--seed N] [--quiet]
  --bots N        bots that play (1-500, default 50)
  --seconds S     seconds of play around the three hot patches (1-600, default 8)
  --isolation I   "process" (default) or "inline" (needs node --no-node-snapshot)
  --seed N        seed of the world and the bots (default 1)
  --quiet         print only the final JSON line
Ends with one JSON line; exits 1 if a bot was disconnected, an event was lost or a patch did not
end as expected, 2 on bad arguments.`;

/** Parses the demo's command line; throws an Error naming the bad argument. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | "help" {
  const out: { -readonly [K in keyof DemoOptions]: DemoOptions[K] } = { ...DEFAULT_DEMO };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const number = (min: number, max: number, integer: boolean): number => {
      const text = value();
      const n = Number(text);
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) throw new Error(`${arg} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got ${JSON.stringify(text)}`);
      return n;
    };
    switch (arg) {
      case "--help":
      case "-h":
        return "help";
      case "--bots":
        out.bots = number(1, 500, true);
        break;
      case "--seconds":
        out.seconds = number(1, 600, false);
        break;
      case "--seed":
        out.seed = number(0, 2 ** 31, true);
        break;
      case "--isolation": {
        const v = value();
        if (v !== "process" && v !== "inline") throw new Error(`--isolation must be "process" or "inline", got ${JSON.stringify(v)}`);
        out.isolation = v;
        break;
      }
      case "--quiet":
        out.quiet = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return out;
}
