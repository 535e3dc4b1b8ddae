import { describe, expect, it } from "vitest";
import { ATTACHMENT_MARK, FrameDecoder, MAX_FRAME_BYTES, encodeAttachmentFrame, encodeFrame } from "./framing.js";

/** The frames a decoder hands on when `bytes` arrive in chunks of `size` bytes. */
function decodeInChunks(bytes: Buffer, size: number): string[] {
  const frames: string[] = [];
  const decoder = new FrameDecoder((json) => frames.push(json));
  for (let at = 0; at < bytes.length; at += size) decoder.push(bytes.subarray(at, at + size));
  return frames;
}

describe("frames", () => {
  const texts = ['{"a":1}', JSON.stringify({ big: 'é"x\n'.repeat(100_000) }), "{}", '{"t":"ü€𝄞"}'];
  const stream = Buffer.concat(texts.map(encodeFrame));

  it("come back whole and in order however the stream is cut (a prefix split too)", () => {
    const small = Buffer.concat([texts[0], texts[2], texts[3]].map((t) => encodeFrame(t as string)));
    for (const size of [1, 3, 5, small.length]) expect(decodeInChunks(small, size)).toEqual([texts[0], texts[2], texts[3]]);
    // A frame of many pipe-sized chunks, joined once it is whole.
    for (const size of [4094, 65_536, stream.length]) expect(decodeInChunks(stream, size)).toEqual(texts);
  });

  it("an attachment comes back as its text after the mark, which no JSON text starts with", () => {
    const text = JSON.stringify({ a: 'é"\n€' });
    const frames = decodeInChunks(Buffer.concat([encodeAttachmentFrame(text), encodeFrame("{}")]), 3);
    expect(frames).toEqual([ATTACHMENT_MARK + text, "{}"]);
    expect(() => JSON.parse(ATTACHMENT_MARK + "{}")).toThrow();
  });

  it("a length prefix over the limit is refused before its bytes arrive", () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(MAX_FRAME_BYTES + 1, 0);
    const decoder = new FrameDecoder(() => undefined);
    expect(() => decoder.push(prefix)).toThrow(/over the limit/);
  });
});
