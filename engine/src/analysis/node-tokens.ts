import type ts from "typescript";
import type { TypeScript } from "../compile/load-typescript.js";

/**
 * The meaningful fields of a node that are not child nodes (operators, keywords, `import type`,
 * `export =`): what a fingerprint writes beside the node's kind.
 */
export function nodeFields(ts: TypeScript, node: ts.Node): string | undefined {
  const k = ts.SyntaxKind;
  switch (node.kind) {
    case k.PrefixUnaryExpression:
    case k.PostfixUnaryExpression:
      return `op:${(node as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operator}`;
    case k.TypeOperator:
      return `op:${(node as ts.TypeOperatorNode).operator}`;
    case k.MetaProperty:
      return `kw:${(node as ts.MetaProperty).keywordToken}`;
    case k.HeritageClause:
      return `kw:${(node as ts.HeritageClause).token}`;
    case k.ImportAttributes:
      return `kw:${(node as ts.ImportAttributes).token}`;
    case k.ImportType:
      return (node as ts.ImportTypeNode).isTypeOf ? "typeof" : undefined;
    case k.ImportClause: {
      const clause = node as ts.ImportClause;
      return `type:${clause.isTypeOnly} phase:${clause.phaseModifier ?? "-"}`;
    }
    case k.ImportSpecifier:
    case k.ExportSpecifier:
    case k.ExportDeclaration:
    case k.ImportEqualsDeclaration:
      return `type:${(node as ts.ImportSpecifier | ts.ExportSpecifier | ts.ExportDeclaration | ts.ImportEqualsDeclaration).isTypeOnly}`;
    case k.ExportAssignment:
      return (node as ts.ExportAssignment).isExportEquals === true ? "=" : "default";
    default:
      return undefined;
  }
}

/** The decimal value of a bigint literal's text (`0x10n` -> `16`); the text itself if malformed. */
export function bigintValue(text: string): string {
  const digits = text.endsWith("n") ? text.slice(0, -1) : text;
  try {
    return BigInt(digits.replaceAll("_", "")).toString();
  } catch (error) {
    // The parser reported the malformed literal already; its text still tells versions apart.
    if (error instanceof SyntaxError) return text;
    throw error;
  }
}
