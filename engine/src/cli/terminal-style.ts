/** Colors for one output stream: each function returns its text unchanged when colors are off. */
export interface Style {
  readonly enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  gray(text: string): string;
  bold(text: string): string;
}

/**
 * Are colors on for `stream`? FORCE_COLOR (anything but "0" or "false") turns them on and
 * NO_COLOR (non-empty) off, in that order of precedence, as Node itself decides; otherwise they
 * are on for a terminal that is not "dumb".
 */
export function colorsEnabled(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** The style for `stream` (see colorsEnabled). */
export function styleFor(stream: { readonly isTTY?: boolean }): Style {
  const enabled = colorsEnabled(stream);
  const wrap =
    (open: number, close: number) =>
    (text: string): string =>
      enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    enabled,
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    gray: wrap(90, 39),
    bold: wrap(1, 22),
  };
}
