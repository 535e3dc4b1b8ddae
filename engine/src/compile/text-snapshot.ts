import type ts from "typescript";

/**
 * A script snapshot that can tell TypeScript what changed since an older snapshot of the same
 * file (one span: the common prefix and suffix left out), so the language service re-parses an
 * edited file incrementally, reusing the syntax nodes outside the edit, instead of from scratch.
 */
export class TextSnapshot implements ts.IScriptSnapshot {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  getText(start: number, end: number): string {
    return this.text.substring(start, end);
  }

  getLength(): number {
    return this.text.length;
  }

  getChangeRange(oldSnapshot: ts.IScriptSnapshot): ts.TextChangeRange | undefined {
    // Only our own snapshots are compared; for anything else a full parse is the safe answer.
    if (!(oldSnapshot instanceof TextSnapshot)) return undefined;
    const before = oldSnapshot.text;
    const after = this.text;
    const shorter = Math.min(before.length, after.length);
    let prefix = 0;
    while (prefix < shorter && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
    let suffix = 0;
    while (
      suffix < shorter - prefix &&
      before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
    ) {
      suffix++;
    }
    // TextChangeRange's shape: the replaced span of the old text and the new text's length.
    return { span: { start: prefix, length: before.length - prefix - suffix }, newLength: after.length - prefix - suffix };
  }
}
