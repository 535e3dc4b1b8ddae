import { DeclarationResolver, displayPath, type VersionIndex } from "./version-index.js";

/** The reason given when the type argument of `defineMod<...>` itself differs. */
export const STATE_TYPE_ARGUMENT = "state type argument";
/** The reason given when a version's state cannot be read statically (see `stateShapeReasons`). */
export const STATE_SHAPE_UNKNOWN = "state shape unknown";

/**
 * What a version's state shape depends on, by report path -> canonical form: the state type
 * argument, the declarations it uses transitively (type aliases, interfaces, enums, classes,
 * `typeof` constants, across the mod's files), and `init`.
 */
export interface StateShape {
  /** False when there is neither a state type nor a readable definition to find `init` in. */
  readonly known: boolean;
  readonly hasStateType: boolean;
  /** The state type argument and what it depends on. */
  readonly type: ReadonlyMap<string, string>;
  /** `init` and, when `followInit` was asked for, what it depends on. */
  readonly init: ReadonlyMap<string, string>;
}

/**
 * Collects the state shape of a version. `followInit` also takes in the declarations `init` uses
 * (helpers, constants): used when there is no state type, as `init` is then all that says what
 * the state looks like. With a state type, `init`'s own text is counted but not its helpers: a
 * tuned constant that `init` reads should not demand a migrate().
 */
export function stateShape(version: VersionIndex, followInit: boolean): StateShape {
  const entry = version.files.get(version.entry);
  const definition = entry?.modDefinition;
  const resolver = new DeclarationResolver(version);
  const type = new Map<string, string>();
  const init = new Map<string, string>();

  const collect = (into: Map<string, string>, file: string, references: readonly string[]): void => {
    const queue = references.map((reference) => ({ file, reference }));
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const found of resolver.resolve(next.file, next.reference)) {
        const key = displayPath(version.entry, found.file, found.declaration.path);
        if (into.has(key)) continue;
        into.set(key, found.declaration.shapePrint);
        for (const reference of found.declaration.references) queue.push({ file: found.file, reference });
      }
    }
  };

  const stateType = definition?.stateType;
  if (stateType !== undefined) {
    type.set(STATE_TYPE_ARGUMENT, stateType.print);
    collect(type, version.entry, stateType.references);
  }
  const initDeclaration = definition?.properties?.has("init") === true ? resolver.declaration(version.entry, "init") : undefined;
  if (initDeclaration !== undefined) {
    init.set("init", initDeclaration.declaration.shapePrint);
    if (followInit) collect(init, version.entry, initDeclaration.declaration.references);
  }
  return { known: stateType !== undefined || definition?.properties !== undefined, hasStateType: stateType !== undefined, type, init };
}

/**
 * Why the state shape differs between two versions, as report paths: the state type argument,
 * the type declarations it depends on (`type State`, `lib/types.ts: interface Item`), then `init`
 * and, without a state type, what `init` uses. Empty when the shape is the same.
 *
 * When either version's shape cannot be read statically (no state type, and a definition that
 * is not an object literal or not found) and `codeChanged`, the answer is `STATE_SHAPE_UNKNOWN`:
 * better to ask for a migrate() than to hand a new version a state it may not understand.
 */
export function stateShapeReasons(previous: VersionIndex, next: VersionIndex, codeChanged: boolean): string[] {
  const typed = hasStateType(previous) || hasStateType(next);
  const before = stateShape(previous, !typed);
  const after = stateShape(next, !typed);
  if (!before.known || !after.known) return codeChanged ? [STATE_SHAPE_UNKNOWN] : [];

  const typeReasons = differingKeys(before.type, after.type);
  const initReasons = differingKeys(before.init, after.init);
  const first = (key: string): number => (key === STATE_TYPE_ARGUMENT || key === "init" ? 0 : 1);
  const order = (a: string, b: string): number => first(a) - first(b) || (a < b ? -1 : a > b ? 1 : 0);
  return [...typeReasons.sort(order), ...initReasons.sort(order)];
}

function hasStateType(version: VersionIndex): boolean {
  return version.files.get(version.entry)?.modDefinition?.stateType !== undefined;
}

function differingKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((key) => before.get(key) !== after.get(key));
}
