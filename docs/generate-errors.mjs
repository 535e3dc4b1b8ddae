// Generates docs/errors.md from the comments in engine/src/errors/error-codes.ts: node docs/generate-errors.mjs
import { readFileSync, writeFileSync } from "node:fs";
const src = readFileSync("engine/src/errors/error-codes.ts", "utf8");
const rows = [];
let section = "";
const lines = src.split("\n");
for (let i = 0; i < lines.length; i++) {
  const s = lines[i].match(/^\s*\/\/ --- (.*) ---/);
  if (s) { section = s[1]; rows.push(`\n### ${section[0].toUpperCase()}${section.slice(1)}\n\n| code | who acts | meaning |\n|---|---|---|`); continue; }
  const c = lines[i].match(/^\s*\/\*\* (.*) \*\/$/);
  const d = lines[i + 1]?.match(/^\s*(E_[A-Z_]+): "(\w+)",/);
  if (c && d) rows.push(`| \`${d[1]}\` | ${d[2]} | ${c[1]} |`);
}
writeFileSync("docs/errors.md", `# Error codes\n\nEvery error modhost reports has one of these codes. Codes are never reused or renamed. "Who acts" says whose change fixes it: the mod's author (mod), the operator (configuration, grants, limits), the embedding game, or modhost itself (engine: please report it).\n${rows.join("\n")}\n`);
