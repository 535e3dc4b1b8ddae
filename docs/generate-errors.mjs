// Generates docs/errors.md from the comments in engine/src/errors/error-codes.ts and the fixes in
// engine/src/errors/error-hints.ts (read as text: no build needed).
//   node docs/generate-errors.mjs           writes docs/errors.md
//   node docs/generate-errors.mjs --check   exits 1 (saying so) when docs/errors.md is not current
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DOC = `${ROOT}docs/errors.md`;

/** code -> hint, from the `E_X: "text",` lines of error-hints.ts (the text is a JSON string). */
function readHints() {
  const hints = new Map();
  for (const line of readFileSync(`${ROOT}engine/src/errors/error-hints.ts`, "utf8").split("\n")) {
    const m = line.match(/^\s*(E_[A-Z0-9_]+): ("(?:[^"\\]|\\.)*"),\s*$/);
    if (m) hints.set(m[1], JSON.parse(m[2]));
  }
  return hints;
}

/** Escapes a table cell: a `|` would end the cell. */
const cell = (text) => text.replace(/\|/g, "\\|");

export function renderErrorsDoc() {
  const hints = readHints();
  const src = readFileSync(`${ROOT}engine/src/errors/error-codes.ts`, "utf8");
  const rows = [];
  const lines = src.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].match(/^\s*\/\/ --- (.*) ---/);
    if (s) {
      const section = s[1];
      rows.push(`\n### ${section[0].toUpperCase()}${section.slice(1)}\n\n| code | who acts | meaning | fix |\n|---|---|---|---|`);
      continue;
    }
    const c = lines[i].match(/^\s*\/\*\* (.*) \*\/$/);
    const d = lines[i + 1]?.match(/^\s*(E_[A-Z0-9_]+): "(\w+)",/);
    if (c && d) rows.push(`| <a id="${d[1].toLowerCase()}"></a>\`${d[1]}\` | ${d[2]} | ${cell(c[1])} | ${cell(hints.get(d[1]) ?? "")} |`);
  }
  return `# Error codes\n\nEvery error modhost reports has one of these codes. Codes are never reused or renamed. "Who acts" says whose change fixes it: the mod's author (mod), the operator (configuration, grants, limits), the embedding game, or modhost itself (engine: please report it). "Fix" is the line the \`modhost\` command prints under the error, with a link here (\`docs/errors.md#e_threw\`).\n\nThis file is generated: edit engine/src/errors/error-codes.ts and error-hints.ts, then run \`node docs/generate-errors.mjs\`.\n${rows.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderErrorsDoc();
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(DOC, "utf8");
    } catch {
      // A missing file is simply not current: reported below.
    }
    if (current !== text) {
      process.stderr.write("docs/errors.md is not current: run node docs/generate-errors.mjs\n");
      process.exit(1);
    }
  } else {
    writeFileSync(DOC, text);
  }
}
