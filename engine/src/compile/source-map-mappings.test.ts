import { describe, expect, it } from "vitest";
import { decodeMappings } from "./source-map-mappings.js";

describe("source map mappings", () => {
  it("decodes VLQ segments with deltas across lines", () => {
    // "AAAA" = [0,0,0,0], "SAAS" = [+9,0,0,+9], "AACA" moves the source line down one (and the
    // generated column restarts), "gBAAgB" = [+16,0,0,+16], "D" = a generated-only segment at -1.
    expect(decodeMappings("AAAA,SAAS;AACA,gBAAgB,D")).toEqual([
      [
        [0, 0, 0, 0],
        [9, 0, 0, 9],
      ],
      // Out-of-order segments come back sorted by generated column.
      [[0, 0, 1, 9], [15], [16, 0, 1, 25]],
    ]);
  });

  it("keeps empty lines and name indexes", () => {
    expect(decodeMappings(";;AAAAA")).toEqual([[], [], [[0, 0, 0, 0, 0]]]);
    expect(decodeMappings("")).toEqual([[]]);
  });

  it("decodes large and negative values", () => {
    // "2H" = 123, "nB" = -19.
    expect(decodeMappings("2HAAnB")).toEqual([[[123, 0, 0, -19]]]);
  });

  it("throws on characters outside base64", () => {
    expect(() => decodeMappings("AA!A")).toThrow(/bad character/);
  });
});
