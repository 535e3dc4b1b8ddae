import type ts from "typescript";
import { isDeclaredPropertyName } from "../compile/declared-property-name.js";
import { DepthGuard } from "../compile/source-limits.js";
import type { TypeScript } from "../compile/load-typescript.js";
import { bigintValue, nodeFields } from "./node-tokens.js";
import { isReference, isTagged, leftmost, movableItems, unparenthesize } from "./syntax-queries.js";

/**
 * The canonical form of some syntax: equal `text` means the same code up to formatting.
 * `references` are the names it uses that may point at other declarations: `Foo`, `ns.Foo`
 * (the first member of a namespace-like name) and `import("./x").Foo` (an import type).
 */
export interface Fingerprint {
  readonly text: string;
  readonly references: ReadonlySet<string>;
}

/**
 * Builds a fingerprint from an AST by a walk that writes each node's kind, the semantic fields
 * the children do not carry (operators, `let`/`const`, `import type`...) and the value of each
 * token: identifier names, cooked string contents, numeric values. What it ignores is exactly
 * what the parser already dropped or what it normalizes here:
 * - whitespace, comments, semicolons, trailing commas (not in the AST at all);
 * - quote style and escapes: `'a'`, `"a"`, `"\x61"` and `` `a` `` are the string a;
 * - number spelling: `0x10`, `16`, `1_6`; bigint spelling `0x10n`, `16n`;
 * - parentheses (the tree already encodes precedence; `(a?.b).c` keeps its meaning through the
 *   optional-chain flag);
 * - property-name spelling: `{ a: 1 }` and `{ "a": 1 }`, `o.a` and `o["a"]`;
 * - shorthand: `{ a }` and `{ a: a }`, `const { a } = o` and `const { a: a } = o`;
 * - `new X` and `new X()`;
 * - the order of the properties of a type literal or interface, and of a union's members.
 *
 * Where the parser recovered from a syntax error the fingerprint says so (`!error`), so broken
 * code never passes for the code the parser guessed.
 *
 * Fingerprints are only compared within one process (the kind numbers belong to the TypeScript
 * version that parsed them). Nodes may be replaced by a placeholder, which is how a declaration's
 * fingerprint leaves out parts fingerprinted on their own (a mod definition's properties).
 */
export class FingerprintBuilder {
  private readonly parts: string[] = [];
  private readonly references = new Set<string>();
  private readonly k: typeof ts.SyntaxKind;
  /** Above zero while visiting names that are not references (an import type's qualifier). */
  private quiet = 0;
  private readonly depth = new DepthGuard();

  constructor(
    private readonly ts: TypeScript,
    private readonly placeholders?: ReadonlyMap<ts.Node, string>,
  ) {
    this.k = ts.SyntaxKind;
  }

  /** Appends a node (parsed with parent pointers: key positions are told by the parent). */
  add(node: ts.Node): this {
    this.visit(node);
    return this;
  }

  /** Appends a list of nodes, delimited so that lists of different lengths never collide. */
  addList(nodes: readonly ts.Node[] | undefined): this {
    this.list(nodes);
    return this;
  }

  /**
   * Appends a declaration without its modifiers (`export`, `declare`, `default`...): what the
   * state-shape comparison uses, since exporting a type does not change the shape it describes.
   */
  addWithoutModifiers(node: ts.Node): this {
    const modifiers = this.ts.canHaveModifiers(node) ? node.modifiers : undefined;
    if ((node.flags & this.ts.NodeFlags.ThisNodeHasError) !== 0) this.parts.push("!error");
    this.open(node);
    this.ts.forEachChild(
      node,
      (child) => this.visit(child),
      (nodes) => {
        if (nodes !== modifiers) this.list(nodes);
      },
    );
    this.parts.push(")");
    return this;
  }

  /** Appends a literal marker (e.g. a declaration kind or flags the caller reads itself). */
  mark(text: string): this {
    this.parts.push(text);
    return this;
  }

  /** The fingerprint so far. */
  finish(): Fingerprint {
    return { text: this.parts.join(" "), references: this.references };
  }

  private list(nodes: readonly ts.Node[] | undefined): void {
    const unordered = nodes === undefined ? undefined : movableItems(this.ts, nodes);
    if (unordered !== undefined && nodes !== undefined) {
      this.sortedList(nodes, unordered);
      return;
    }
    this.parts.push("[");
    if (nodes !== undefined) for (const node of nodes) this.visit(node);
    this.parts.push("]");
  }

  private sortedList(nodes: readonly ts.Node[], movable: (node: ts.Node) => boolean): void {
    const moved: string[] = [];
    const fixed: ts.Node[] = [];
    for (const node of nodes) {
      if (!movable(node)) {
        fixed.push(node);
        continue;
      }
      const item = new FingerprintBuilder(this.ts, this.placeholders);
      item.quiet = this.quiet;
      item.visit(node);
      const print = item.finish();
      moved.push(print.text);
      for (const reference of print.references) this.references.add(reference);
    }
    this.parts.push("{", ...moved.sort());
    for (const node of fixed) this.visit(node);
    this.parts.push("}");
  }

  /** An optional child, written as `-` when absent so that neighbouring slots cannot swap. */
  private slot(node: ts.Node | undefined): void {
    if (node === undefined) this.parts.push("-");
    else this.visit(node);
  }

  private open(node: ts.Node): void {
    const ts = this.ts;
    // `let`/`const`/`using` live in the flags of the declaration list, `?.` in every link of an
    // optional chain; no other flag from the parser changes what the code means.
    const flags = node.flags & (ts.NodeFlags.BlockScoped | ts.NodeFlags.Using | ts.NodeFlags.OptionalChain | ts.NodeFlags.GlobalAugmentation);
    this.parts.push(flags === 0 ? `(${node.kind}` : `(${node.kind}/${flags}`);
  }

  private visit(node: ts.Node): void {
    this.depth.descend(node, (n) => this.visitNode(n));
  }

  private visitNode(node: ts.Node): void {
    const ts = this.ts;
    const k = this.k;
    // The parser recovers from errors by inventing what was missing: `a[b;` gives the tree of
    // `a[b];`. Marking where it did keeps broken code from passing for the code it resembles.
    if ((node.flags & ts.NodeFlags.ThisNodeHasError) !== 0) this.parts.push("!error");
    const placeholder = this.placeholders?.get(node);
    if (placeholder !== undefined) {
      this.parts.push(placeholder);
      return;
    }
    switch (node.kind) {
      case k.ParenthesizedExpression:
        this.visit((node as ts.ParenthesizedExpression).expression);
        return;
      case k.ParenthesizedType:
        this.visit((node as ts.ParenthesizedTypeNode).type);
        return;
      case k.Identifier:
        this.identifier(node as ts.Identifier);
        return;
      case k.PrivateIdentifier:
        this.parts.push(`#${(node as ts.PrivateIdentifier).text}`);
        return;
      case k.StringLiteral:
      case k.NumericLiteral: {
        const text = (node as ts.StringLiteral | ts.NumericLiteral).text;
        if (isDeclaredPropertyName(this.ts, node)) this.key(text);
        else this.parts.push(node.kind === k.StringLiteral ? `s:${JSON.stringify(text)}` : `n:${text}`);
        return;
      }
      case k.NoSubstitutionTemplateLiteral: {
        const literal = node as ts.NoSubstitutionTemplateLiteral;
        // A tag sees the raw text (String.raw`\n` is not String.raw`\\n`); anywhere else it is a string.
        if (ts.isTaggedTemplateExpression(node.parent)) this.parts.push(`raw:${JSON.stringify(literal.rawText ?? literal.text)}`);
        else this.parts.push(`s:${JSON.stringify(literal.text)}`);
        return;
      }
      case k.TemplateHead:
      case k.TemplateMiddle:
      case k.TemplateTail: {
        const literal = node as ts.TemplateLiteralLikeNode;
        const text = isTagged(this.ts, node) ? `raw:${JSON.stringify(literal.rawText ?? literal.text)}` : JSON.stringify(literal.text);
        this.parts.push(`(${node.kind} ${text})`);
        return;
      }
      case k.BigIntLiteral:
        this.parts.push(`big:${bigintValue((node as ts.BigIntLiteral).text)}`);
        return;
      case k.RegularExpressionLiteral:
        this.parts.push(`re:${JSON.stringify((node as ts.RegularExpressionLiteral).text)}`);
        return;
      case k.PropertyAccessExpression: {
        const access = node as ts.PropertyAccessExpression;
        this.member(access, access.expression, access.questionDotToken, access.name);
        return;
      }
      case k.ElementAccessExpression: {
        const access = node as ts.ElementAccessExpression;
        const argument = unparenthesize(ts, access.argumentExpression);
        // `o["a"]` is `o.a`: write both the same way.
        if (ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument) || ts.isNumericLiteral(argument)) {
          this.member(access, access.expression, access.questionDotToken, argument);
          return;
        }
        break;
      }
      case k.QualifiedName: {
        const name = node as ts.QualifiedName;
        this.open(name);
        this.visit(name.left);
        this.key(name.right.text);
        this.parts.push(")");
        if (this.quiet === 0 && ts.isIdentifier(name.left)) this.references.add(`${name.left.text}.${name.right.text}`);
        return;
      }
      case k.ShorthandPropertyAssignment: {
        const shorthand = node as ts.ShorthandPropertyAssignment;
        if (shorthand.objectAssignmentInitializer !== undefined) break;
        // `{ a }` is `{ a: a }`.
        this.parts.push(`(${k.PropertyAssignment}`);
        this.key(shorthand.name.text);
        this.parts.push(`i:${shorthand.name.text}`, ")");
        if (this.quiet === 0) this.references.add(shorthand.name.text);
        return;
      }
      case k.BindingElement: {
        const element = node as ts.BindingElement;
        this.open(element);
        if (element.dotDotDotToken !== undefined) this.parts.push("...");
        // `{ a }` is `{ a: a }` here too; `[a]` has no property name at all.
        if (element.propertyName !== undefined) this.propertyName(element.propertyName);
        else if (ts.isObjectBindingPattern(element.parent) && ts.isIdentifier(element.name)) this.key(element.name.text);
        else this.parts.push("-");
        this.visit(element.name);
        this.slot(element.initializer);
        this.parts.push(")");
        return;
      }
      case k.ForStatement: {
        const loop = node as ts.ForStatement;
        this.open(loop);
        this.slot(loop.initializer);
        this.slot(loop.condition);
        this.slot(loop.incrementor);
        this.visit(loop.statement);
        this.parts.push(")");
        return;
      }
      case k.TypeParameter: {
        const parameter = node as ts.TypeParameterDeclaration;
        this.open(parameter);
        this.list(parameter.modifiers);
        this.visit(parameter.name);
        this.slot(parameter.constraint);
        this.slot(parameter.default);
        this.parts.push(")");
        return;
      }
      case k.NewExpression: {
        const construct = node as ts.NewExpression;
        this.open(construct);
        this.visit(construct.expression);
        if (construct.typeArguments !== undefined) this.list(construct.typeArguments);
        // `new X` calls X with no arguments, like `new X()`.
        this.list(construct.arguments ?? []);
        this.parts.push(")");
        return;
      }
      case k.ImportType: {
        const importType = node as ts.ImportTypeNode;
        const argument = importType.argument;
        if (ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal) && importType.qualifier !== undefined) {
          const first = leftmost(ts, importType.qualifier);
          this.references.add(`import(${JSON.stringify(argument.literal.text)}).${first.text}`);
        }
        // The qualifier names members of the imported module, not declarations of this file.
        this.quiet++;
        try {
          this.generic(node);
        } finally {
          this.quiet--;
        }
        return;
      }
      default:
        break;
    }
    this.generic(node);
  }

  private generic(node: ts.Node): void {
    this.open(node);
    const extra = nodeFields(this.ts, node);
    if (extra !== undefined) this.parts.push(extra);
    this.ts.forEachChild(
      node,
      (child) => this.visit(child),
      (nodes) => this.list(nodes),
    );
    this.parts.push(")");
  }

  /** `o.a`, `o?.a`, `o["a"]`: one form. */
  private member(
    node: ts.Node,
    expression: ts.Expression,
    questionDot: ts.QuestionDotToken | undefined,
    name: ts.MemberName | ts.StringLiteral | ts.NoSubstitutionTemplateLiteral | ts.NumericLiteral,
  ): void {
    const ts = this.ts;
    this.parts.push(`(${this.k.PropertyAccessExpression}/${node.flags & ts.NodeFlags.OptionalChain}`);
    this.visit(expression);
    if (questionDot !== undefined) this.parts.push("?.");
    if (ts.isPrivateIdentifier(name)) this.parts.push(`#${name.text}`);
    else this.key(name.text);
    this.parts.push(")");
    const inner = unparenthesize(ts, expression);
    if (this.quiet === 0 && ts.isIdentifier(inner)) this.references.add(`${inner.text}.${name.text}`);
  }

  private identifier(node: ts.Identifier): void {
    if (isDeclaredPropertyName(this.ts, node)) {
      this.key(node.text);
      return;
    }
    this.parts.push(`i:${node.text}`);
    if (this.quiet === 0 && isReference(this.ts, node)) this.references.add(node.text);
  }

  private propertyName(name: ts.PropertyName): void {
    const ts = this.ts;
    if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) this.key(name.text);
    else this.visit(name);
  }

  private key(text: string): void {
    this.parts.push(`k:${JSON.stringify(text)}`);
  }
}
