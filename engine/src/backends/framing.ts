/**
 * Length-prefixed JSON frames (4-byte little-endian length, then UTF-8 JSON) between the host and
 * the sandbox process. Both sides import this module.
 */

/** Encodes one message as a frame. `rawJson` is already JSON text (not re-encoded). */
export function encodeFrame(rawJson: string): Buffer {
  // The text is encoded straight into the frame: a checkpoint's megabyte is not copied twice.
  const frame = Buffer.allocUnsafe(4 + Buffer.byteLength(rawJson, "utf8"));
  const written = frame.write(rawJson, 4, "utf8");
  frame.writeUInt32LE(written, 0);
  return frame;
}

/**
 * First character of an attachment frame: text carried as is, unescaped, for a message that
 * follows it (a state snapshot's JSON, backends/sandbox-protocol.ts). No JSON text starts with it.
 */
export const ATTACHMENT_MARK = "\u0000";

/** Encodes `text` as an attachment frame (ATTACHMENT_MARK, then the text), without copying it into a message. */
export function encodeAttachmentFrame(text: string): Buffer {
  const frame = Buffer.allocUnsafe(5 + Buffer.byteLength(text, "utf8"));
  frame[4] = 0;
  const written = frame.write(text, 5, "utf8");
  frame.writeUInt32LE(1 + written, 0);
  return frame;
}

/** Largest frame accepted; a bigger length prefix means the stream is corrupt. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/** Splits a byte stream into frames and hands each frame's JSON text to `onFrame`. */
export class FrameDecoder {
  #buffered: Buffer[] = [];
  #length = 0;
  /** Bytes the frame being received needs (prefix included), once its prefix was read. */
  #needed = 0;
  readonly #onFrame: (json: string) => void;

  constructor(onFrame: (json: string) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.#buffered.push(chunk);
    this.#length += chunk.length;
    // A big frame arrives in many pipe-sized chunks: they are joined once, when it is whole
    // (joining at every chunk copied a megabyte frame some thirty times).
    while (this.#length >= Math.max(4, this.#needed)) {
      if (this.#needed === 0) {
        const size = this.#prefix();
        if (size > MAX_FRAME_BYTES) throw new Error(`frame of ${size} bytes is over the limit`);
        this.#needed = 4 + size;
        if (this.#length < this.#needed) return;
      }
      const head = this.#buffered.length === 1 ? (this.#buffered[0] as Buffer) : Buffer.concat(this.#buffered, this.#length);
      const end = this.#needed;
      const json = head.toString("utf8", 4, end);
      const rest = head.subarray(end);
      this.#buffered = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      this.#needed = 0;
      this.#onFrame(json);
    }
  }

  /** The length prefix of the frame at the start of the buffered bytes (at least 4 are buffered). */
  #prefix(): number {
    const first = this.#buffered[0] as Buffer;
    if (first.length >= 4) return first.readUInt32LE(0);
    const head = Buffer.concat(this.#buffered, this.#length);
    this.#buffered = [head];
    return head.readUInt32LE(0);
  }
}
