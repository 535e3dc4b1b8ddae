/**
 * One mapping segment of a v3 source map, with every field absolute (the encoding stores deltas):
 * `[generatedColumn]` alone, or `[generatedColumn, sourceIndex, sourceLine, sourceColumn]`
 * (plus `nameIndex`). Lines and columns are 0-based, as in the format.
 */
export type MappingSegment =
  | readonly [generatedColumn: number]
  | readonly [generatedColumn: number, sourceIndex: number, sourceLine: number, sourceColumn: number]
  | readonly [generatedColumn: number, sourceIndex: number, sourceLine: number, sourceColumn: number, nameIndex: number];

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/**
 * Decodes a source map's `mappings` string into segments per generated line, each line's
 * segments sorted by generated column. (The format: `;` ends a generated line, `,` a segment;
 * fields are base64 VLQs, 5 data bits a digit, continuation in bit 6, sign in the lowest bit;
 * the generated column restarts each line, the other fields run on across lines.)
 * Throws on malformed input: maps come from our own transpiler, so that is a bug, not data.
 */
export function decodeMappings(mappings: string): MappingSegment[][] {
  const lines: MappingSegment[][] = [];
  let line: MappingSegment[] = [];
  let sorted = true;
  let sourceIndex = 0;
  let sourceLine = 0;
  let sourceColumn = 0;
  let nameIndex = 0;
  let generatedColumn = 0;
  let pos = 0;
  const fields: number[] = [];

  const endLine = (): void => {
    if (!sorted) line.sort((a, b) => a[0] - b[0]);
    lines.push(line);
    line = [];
    sorted = true;
    generatedColumn = 0;
  };

  while (pos <= mappings.length) {
    const char = mappings.charCodeAt(pos);
    if (pos === mappings.length || char === 59 /* ; */) {
      endLine();
      pos++;
      continue;
    }
    if (char === 44 /* , */) {
      pos++;
      continue;
    }
    fields.length = 0;
    while (pos < mappings.length) {
      const c = mappings.charCodeAt(pos);
      if (c === 44 || c === 59) break;
      let value = 0;
      let shift = 0;
      let digit: number;
      do {
        const code = mappings.charCodeAt(pos++);
        digit = code < 128 ? (DIGIT[code] ?? -1) : -1;
        if (digit === -1) throw new Error(`invalid source map mappings: bad character at offset ${pos - 1}`);
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      fields.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
    }
    const [column = 0, source, srcLine, srcColumn, name] = fields;
    generatedColumn += column;
    if (line.length > 0 && generatedColumn < (line[line.length - 1] as MappingSegment)[0]) sorted = false;
    if (fields.length === 1) {
      line.push([generatedColumn]);
    } else if (fields.length === 4 || fields.length === 5) {
      sourceIndex += source ?? 0;
      sourceLine += srcLine ?? 0;
      sourceColumn += srcColumn ?? 0;
      if (fields.length === 5) {
        nameIndex += name ?? 0;
        line.push([generatedColumn, sourceIndex, sourceLine, sourceColumn, nameIndex]);
      } else {
        line.push([generatedColumn, sourceIndex, sourceLine, sourceColumn]);
      }
    } else {
      throw new Error(`invalid source map mappings: a segment has ${fields.length} fields`);
    }
  }
  return lines;
}
