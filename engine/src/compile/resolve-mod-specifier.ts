/** The one bare specifier a mod may import: the SDK, provided by the sandbox's prelude. */
export const SDK_SPECIFIER = "@modhost/sdk";

/**
 * What an import specifier in a mod names: a file of the mod (`path` relative to the mod folder,
 * posix), the SDK, or nothing a mod may have (`refused`: outside the mod, a Node built-in, a
 * package, a URL) or nothing that exists (`not-found`). `reason` is written for the mod's author.
 */
export type ResolvedSpecifier =
  | { readonly kind: "mod"; readonly path: string }
  | { readonly kind: "sdk" }
  | { readonly kind: "refused"; readonly reason: string }
  | { readonly kind: "not-found"; readonly reason: string };

// A URL scheme (`node:`, `http:`, `file:`, `data:`...) or a Windows drive letter (`C:`).
const SCHEME = /^[a-zA-Z][a-zA-Z\d+.-]*:/;

/**
 * Resolves `specifier`, written in the mod file `fromPath`, against the mod's `files` (posix paths
 * relative to the mod folder, e.g. `lib/util.ts`). Relative specifiers may name a file with or
 * without `.ts`, with `.js` (the ESM convention, mapped to the `.ts` file), or a folder with an
 * `index.ts`. Pure and allocation-light: the isolate's module linker calls it for every import.
 */
export function resolveModSpecifier(
  fromPath: string,
  specifier: string,
  files: ReadonlySet<string>,
): ResolvedSpecifier {
  if (specifier === SDK_SPECIFIER) return { kind: "sdk" };
  if (specifier.startsWith(`${SDK_SPECIFIER}/`)) {
    return { kind: "refused", reason: `only "${SDK_SPECIFIER}" itself can be imported, not "${specifier}"` };
  }
  if (specifier.includes("\\") || specifier.includes("\0")) {
    // Backslashes would let "..\\" slip past the posix normalisation below.
    return { kind: "refused", reason: `"${specifier}" is not a valid module path (use forward slashes)` };
  }
  if (SCHEME.test(specifier)) {
    return { kind: "refused", reason: `"${specifier}" is not available to mods: only files of the mod and "${SDK_SPECIFIER}" can be imported` };
  }
  if (specifier.startsWith("/")) {
    return { kind: "refused", reason: `"${specifier}" is an absolute path: import files of the mod with a relative path ("./...")` };
  }
  const relative = specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../");
  if (!relative) {
    return { kind: "refused", reason: `"${specifier}" is not available to mods: only files of the mod and "${SDK_SPECIFIER}" can be imported` };
  }

  const slash = fromPath.lastIndexOf("/");
  const base = slash === -1 ? specifier : `${fromPath.slice(0, slash)}/${specifier}`;
  const joined = normalize(base);
  if (joined === undefined) {
    return { kind: "refused", reason: `"${specifier}" points outside the mod's folder` };
  }

  const tried: string[] = [];
  const found = (candidate: string): boolean => {
    tried.push(candidate);
    return files.has(candidate);
  };
  const folderLike = specifier.endsWith("/") || specifier === "." || specifier === ".." || joined === "";
  if (!folderLike) {
    if (joined.endsWith(".ts")) {
      if (found(joined)) return { kind: "mod", path: joined };
    } else if (joined.endsWith(".js")) {
      const ts = `${joined.slice(0, -3)}.ts`;
      if (found(ts)) return { kind: "mod", path: ts };
    } else if (found(`${joined}.ts`)) {
      return { kind: "mod", path: `${joined}.ts` };
    }
  }
  const index = joined === "" ? "index.ts" : `${joined}/index.ts`;
  if (!joined.endsWith(".ts") && !joined.endsWith(".js") && found(index)) return { kind: "mod", path: index };
  return { kind: "not-found", reason: `"${specifier}" does not match a file of the mod (looked for ${tried.join(", ")})` };
}

/**
 * Collapses `.`, `..` and empty segments of a posix path relative to the mod folder; undefined
 * when `..` climbs above it. The result has no leading or trailing slash ("" is the folder itself).
 */
function normalize(path: string): string | undefined {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(segment);
    }
  }
  return out.join("/");
}
