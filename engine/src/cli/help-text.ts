/** Width help is wrapped to: the terminal's, else $COLUMNS, else 80 columns (40 to 120). */
export function helpWidth(stream: { readonly columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.COLUMNS);
  return Math.max(40, Math.min(stream.columns ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80), 120));
}

/**
 * Wraps help text at word boundaries to `width` columns. A line longer than that continues under
 * its own description: where the text after its first run of two or more spaces begins (the
 * option or command column), else under its own indentation. A word longer than a line stays whole.
 */
export function wrapHelp(text: string, width: number): string {
  return text
    .split("\n")
    .map((line) => wrapLine(line, width))
    .join("\n");
}

function wrapLine(line: string, width: number): string {
  if (line.length <= width) return line;
  const column = /^(\s*\S(?:.*?\S)?\s{2,})\S/.exec(line)?.[1]?.length;
  const indent = column !== undefined && column < width / 2 ? column : (/^\s*/.exec(line)?.[0].length ?? 0);
  const pad = " ".repeat(indent);
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(" ", width);
    // Never cut inside the leading columns; a single long word overflows rather than breaks.
    if (cut <= indent) cut = rest.indexOf(" ", width);
    if (cut < 0) break;
    out.push(rest.slice(0, cut).trimEnd());
    rest = pad + rest.slice(cut + 1).trimStart();
  }
  out.push(rest);
  return out.join("\n");
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The names closest to `typed` (at most 2 edits, or a prefix), best first. */
export function suggest(typed: string, names: readonly string[]): string[] {
  const scored = names.map((name) => ({ name, d: name.startsWith(typed) && typed.length >= 2 ? 0.5 : editDistance(typed, name) }));
  return scored
    .filter((s) => s.d <= Math.max(1, Math.min(2, Math.floor(typed.length / 3))) || s.d === 0.5)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .map((s) => s.name);
}
