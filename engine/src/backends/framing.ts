/**
 * Length-prefixed JSON frames (4-byte little-endian length, then UTF-8 JSON) between the host and
 * the sandbox process. Both sides import this module.
 */

/** Encodes one message as a frame. `rawJson` is already JSON text (not re-encoded). */
export function encodeFrame(rawJson: string): Buffer {
  const body = Buffer.from(rawJson, "utf8");
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Largest frame accepted; a bigger length prefix means the stream is corrupt. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/** Splits a byte stream into frames and hands each frame's JSON text to `onFrame`. */
export class FrameDecoder {
  #buffered: Buffer[] = [];
  #length = 0;
  readonly #onFrame: (json: string) => void;

  constructor(onFrame: (json: string) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.#buffered.push(chunk);
    this.#length += chunk.length;
    while (this.#length >= 4) {
      const head = this.#buffered.length === 1 ? (this.#buffered[0] as Buffer) : Buffer.concat(this.#buffered);
      const size = head.readUInt32LE(0);
      if (size > MAX_FRAME_BYTES) throw new Error(`frame of ${size} bytes is over the limit`);
      if (head.length < 4 + size) {
        this.#buffered = [head];
        return;
      }
      const json = head.toString("utf8", 4, 4 + size);
      const rest = head.subarray(4 + size);
      this.#buffered = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      this.#onFrame(json);
    }
  }
}
