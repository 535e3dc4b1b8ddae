import type { Style } from "./terminal-style.js";

/**
 * The lines around a position in `text`, compiler style, with a caret under the column:
 *
 * ```
 *   2 | type State = { n: number };
 * > 3 | eval("1");
 *     | ^
 * ```
 * `line` is 1-based and `column` 0-based (as in Diagnostic). Returns "" when the line is not in
 * the text. Tabs are kept, and the caret line repeats them so the caret lines up.
 */
export function codeFrame(text: string, line: number, column: number, style: Style, context = 1): string {
  const lines = text.split(/\r?\n/);
  const index = line - 1;
  const target = lines[index];
  if (target === undefined || index < 0) return "";
  const first = Math.max(0, index - context);
  const last = Math.min(lines.length - 1, index + context);
  const width = String(last + 1).length;
  const out: string[] = [];
  for (let i = first; i <= last; i++) {
    const number = String(i + 1).padStart(width);
    const source = lines[i] ?? "";
    if (i === index) {
      out.push(`${style.red(">")} ${style.gray(`${number} |`)} ${source}`);
      const col = Math.max(0, Math.min(column, target.length));
      const lead = target.slice(0, col).replace(/[^\t]/g, " ");
      out.push(`  ${style.gray(`${" ".repeat(width)} |`)} ${lead}${style.red("^")}`);
    } else {
      out.push(`  ${style.gray(`${number} |`)} ${source}`);
    }
  }
  return out.join("\n");
}
