import { oneBasedColumns } from "./json-columns.js";
import { styleFor, type Style } from "./terminal-style.js";

/** Where a command writes: text for people (colored on a terminal) or JSON for scripts. */
export interface CliOutput {
  /** Was --json given? Then stdout carries JSON only. */
  readonly json: boolean;
  /** Colors for stdout. */
  readonly style: Style;
  /** Colors for stderr. */
  readonly errStyle: Style;
  /** A line for people on stdout (nothing in --json mode). */
  line(text: string): void;
  /** A JSON document (or, for streams, one JSON line) on stdout; positions' columns 1-based, as in the text. */
  data(value: unknown): void;
  /** A line on stderr (progress and problems; stdout stays clean for --json). */
  note(text: string): void;
}

/** The output of a command run with (or without) --json. */
export function cliOutput(json: boolean): CliOutput {
  return {
    json,
    style: styleFor(process.stdout),
    errStyle: styleFor(process.stderr),
    line: (text) => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    data: (value) => {
      process.stdout.write(`${JSON.stringify(oneBasedColumns(value))}\n`);
    },
    note: (text) => {
      process.stderr.write(`${text}\n`);
    },
  };
}
