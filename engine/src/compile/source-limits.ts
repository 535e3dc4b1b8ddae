import type ts from "typescript";
import type { Diagnostic } from "../errors/diagnostic.js";
import { ModhostError } from "../errors/modhost-error.js";
import type { TypeScript } from "./load-typescript.js";

/**
 * Bounds on one mod source file, checked before and right after parsing. TypeScript's parser,
 * checker and emitter (and our own analysis walkers) recurse once per nesting level, so a small
 * hostile file (800 nested parentheses, 2000 nested `if`s, a 100k-term sum) overflows the stack or
 * takes seconds. Real code stays far below every bound.
 */
export const SOURCE_LIMITS = {
  /**
   * Characters in one file. Transpiling runs on the host's thread; TypeScript takes seconds for a
   * megabyte on a loaded machine, so one file may not be larger.
   */
  maxChars: 1024 * 1024,
  /** Nesting of `(`, `[`, `{`, `<`-less template `${`: the parser's recursion for brackets. */
  maxBracketDepth: 256,
  /**
   * Operators and nesting keywords (`+`, `.`, `=>`, `if`, `!`, `typeof`...) in one run of code at
   * one bracket level between separators (`;`, `,`, a statement boundary): these nest in the tree
   * without any bracket (`1+1+...`, `if (a) if (b) ...`, `a => b => ...`).
   */
  maxChainLength: 1000,
  /**
   * Depth of the parsed syntax tree. Measured on TypeScript 5: its emitter overflows Node's default
   * stack at a depth of ~1000 (nested `if`s) and ~900 (nested object literals); 400 leaves room.
   */
  maxTreeDepth: 400,
} as const;

/** The diagnostic code of a source over these bounds (or one whose processing overflowed the stack). */
export const SOURCE_TOO_COMPLEX = "E_SOURCE_TOO_COMPLEX";

/**
 * Scans `text` once with TypeScript's scanner (linear, no recursion) and returns an
 * E_SOURCE_TOO_COMPLEX diagnostic when it is over a bound, before anything parses it.
 */
export function checkSourceBounds(typescript: TypeScript, path: string, text: string): Diagnostic | undefined {
  if (text.length > SOURCE_LIMITS.maxChars) {
    return tooComplex(path, `${path} has ${text.length} characters, over the limit of ${SOURCE_LIMITS.maxChars}`);
  }
  const k = typescript.SyntaxKind;
  const scanner = typescript.createScanner(typescript.ScriptTarget.ES2022, true, typescript.LanguageVariant.Standard, text);
  // One entry per open bracket: the chain count of the level it opened, and whether it is a
  // template literal's `${` (its `}` resumes the template rather than closing a brace).
  const levels: { chain: number; template: boolean }[] = [{ chain: 0, template: false }];
  let previous: ts.SyntaxKind = k.Unknown;
  const fail = (what: string): Diagnostic => {
    const { line, character } = lineAndColumn(text, scanner.getTokenStart());
    return tooComplex(path, `${what} at ${path}:${line}:${character + 1}; split it up`, line, character);
  };
  for (let token = scanner.scan(); token !== k.EndOfFileToken; token = scanner.scan()) {
    // `/` after something that cannot end an expression starts a regular expression.
    if ((token === k.SlashToken || token === k.SlashEqualsToken) && !endsOperand(typescript, previous)) token = scanner.reScanSlashToken();
    const level = levels[levels.length - 1] as { chain: number; template: boolean };
    if (token === k.OpenParenToken || token === k.OpenBracketToken || token === k.OpenBraceToken || token === k.TemplateHead) {
      levels.push({ chain: 0, template: token === k.TemplateHead });
      if (levels.length - 1 > SOURCE_LIMITS.maxBracketDepth) return fail(`brackets are nested more than ${SOURCE_LIMITS.maxBracketDepth} deep`);
    } else if (token === k.CloseBraceToken && level.template) {
      token = scanner.reScanTemplateToken(false);
      if (token === k.TemplateTail) levels.pop();
    } else if (token === k.CloseParenToken || token === k.CloseBracketToken || token === k.CloseBraceToken) {
      if (levels.length > 1) levels.pop();
      // A call or index closing here extends the chain of the enclosing level: `f()()()`, `a[0][0]`.
      const outer = levels[levels.length - 1] as { chain: number };
      if (token !== k.CloseBraceToken && ++outer.chain > SOURCE_LIMITS.maxChainLength) return fail(`an expression chains more than ${SOURCE_LIMITS.maxChainLength} calls or operators`);
    } else if (token === k.SemicolonToken || token === k.CommaToken) {
      level.chain = 0;
    } else if (startsNewStatement(typescript, previous, token, scanner.hasPrecedingLineBreak())) {
      level.chain = 0;
    } else if (chains(typescript, token) && ++level.chain > SOURCE_LIMITS.maxChainLength) {
      return fail(`an expression chains more than ${SOURCE_LIMITS.maxChainLength} operators`);
    }
    previous = token;
  }
  return undefined;
}

/**
 * Measures the parsed tree's depth without recursion and returns an E_SOURCE_TOO_COMPLEX
 * diagnostic at the deepest point when it is over `SOURCE_LIMITS.maxTreeDepth`.
 */
export function checkTreeDepth(typescript: TypeScript, path: string, sourceFile: ts.SourceFile): Diagnostic | undefined {
  const stack: [ts.Node, number][] = [[sourceFile, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (depth > SOURCE_LIMITS.maxTreeDepth) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
      return tooComplex(path, `the code is nested more than ${SOURCE_LIMITS.maxTreeDepth} levels deep at ${path}:${line + 1}:${character + 1}; split it up`, line + 1, character);
    }
    typescript.forEachChild(node, (child) => {
      stack.push([child, depth + 1]);
    });
  }
  return undefined;
}

/** Is `err` a JavaScript stack overflow (what deep recursion over a hostile source ends in)? */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** The E_SOURCE_TOO_COMPLEX diagnostic for a file whose processing overflowed the stack. */
export function stackOverflowDiagnostic(path: string, doing: string): Diagnostic {
  return tooComplex(path, `${path} is nested too deeply to ${doing} (the stack overflowed); split it up`);
}

function tooComplex(file: string, message: string, line?: number, column?: number): Diagnostic {
  return { code: SOURCE_TOO_COMPLEX, severity: "error", message, file, ...(line !== undefined ? { line } : {}), ...(column !== undefined ? { column } : {}) };
}

/** 1-based line and 0-based column of `pos` (a linear count: no line map is built for one error). */
function lineAndColumn(text: string, pos: number): { line: number; character: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < pos; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, character: pos - start };
}

/** Can `kind` end an operand (so that a following `/` divides and a line break may end a statement)? */
function endsOperand(typescript: TypeScript, kind: ts.SyntaxKind): boolean {
  const k = typescript.SyntaxKind;
  return (
    kind === k.Identifier ||
    kind === k.PrivateIdentifier ||
    kind === k.NumericLiteral ||
    kind === k.BigIntLiteral ||
    kind === k.StringLiteral ||
    kind === k.RegularExpressionLiteral ||
    kind === k.NoSubstitutionTemplateLiteral ||
    kind === k.TemplateTail ||
    kind === k.CloseParenToken ||
    kind === k.CloseBracketToken ||
    kind === k.CloseBraceToken ||
    kind === k.ThisKeyword ||
    kind === k.SuperKeyword ||
    kind === k.TrueKeyword ||
    kind === k.FalseKeyword ||
    kind === k.NullKeyword
  );
}

/**
 * Does `token` start a new statement after `previous`: after a block's `}`, or across a line break
 * between two operands (automatic semicolon insertion)? Operators never do, nor the keywords that
 * join operands (`instanceof`, `in`, `as`...) or nest a statement in the one before it (`else`, and
 * `if`/`for`/`while`/`do` right after a `)`), so a chain cannot hide behind line breaks.
 */
function startsNewStatement(typescript: TypeScript, previous: ts.SyntaxKind, token: ts.SyntaxKind, lineBreak: boolean): boolean {
  const k = typescript.SyntaxKind;
  const keyword = token >= k.FirstKeyword && token <= k.LastKeyword;
  if (token === k.ElseKeyword || token === k.InstanceOfKeyword || token === k.InKeyword || token === k.AsKeyword || token === k.SatisfiesKeyword || token === k.ExtendsKeyword) return false;
  const nesting = token === k.IfKeyword || token === k.ForKeyword || token === k.WhileKeyword || token === k.DoKeyword || token === k.WithKeyword;
  if (nesting && previous === k.CloseParenToken) return false;
  const operand = keyword || (endsOperand(typescript, token) && token !== k.CloseParenToken && token !== k.CloseBracketToken && token !== k.CloseBraceToken && token !== k.TemplateTail);
  if (!operand) return false;
  return previous === k.CloseBraceToken || (lineBreak && endsOperand(typescript, previous));
}

/** Tokens that nest in the tree without brackets: operators and nesting keywords. */
function chains(typescript: TypeScript, kind: ts.SyntaxKind): boolean {
  const k = typescript.SyntaxKind;
  if (kind >= k.FirstPunctuation && kind <= k.LastPunctuation) {
    return kind !== k.ColonToken && kind !== k.DotDotDotToken && kind !== k.AtToken && kind !== k.HashToken;
  }
  return (
    kind === k.IfKeyword ||
    kind === k.ElseKeyword ||
    kind === k.ForKeyword ||
    kind === k.WhileKeyword ||
    kind === k.DoKeyword ||
    kind === k.TypeOfKeyword ||
    kind === k.VoidKeyword ||
    kind === k.DeleteKeyword ||
    kind === k.AwaitKeyword ||
    kind === k.NewKeyword ||
    kind === k.YieldKeyword ||
    kind === k.InstanceOfKeyword ||
    kind === k.InKeyword ||
    kind === k.AsKeyword ||
    kind === k.SatisfiesKeyword ||
    kind === k.KeyOfKeyword ||
    kind === k.ExtendsKeyword
  );
}

/**
 * Bounds the recursion of a syntax-tree walker to `SOURCE_LIMITS.maxTreeDepth`: sources are
 * refused at compile time past that depth, so only a source that skipped the compiler can trip
 * it, and it then ends in E_SOURCE_TOO_COMPLEX rather than a stack overflow.
 */
export class DepthGuard {
  #depth = 0;

  /** Runs `visit(node)` one level deeper; throws E_SOURCE_TOO_COMPLEX past the bound. */
  descend<N, R>(node: N, visit: (node: N) => R): R {
    if (this.#depth >= SOURCE_LIMITS.maxTreeDepth) {
      throw new ModhostError("E_SOURCE_TOO_COMPLEX", `the code is nested more than ${SOURCE_LIMITS.maxTreeDepth} levels deep; split it up`);
    }
    this.#depth++;
    try {
      return visit(node);
    } finally {
      this.#depth--;
    }
  }
}
