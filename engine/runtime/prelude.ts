/*
 * The prelude: the first code that runs in every mod's isolate, before any mod code.
 *
 * It is a script (no imports or exports) whose completion value is the engine's private API object;
 * the host keeps References to its functions and nothing of it stays reachable from the global.
 * It compiles under its own tsconfig with no Node types, so host-only code cannot leak in here.
 *
 * Everything the host receives from here is a string built inside the isolate, within the timed
 * call: a hostile getter, Proxy or cyclic value can only time out or fail, never run in the host.
 */

// The contract with the host (prelude-api.ts). Type-only `import()` references: an import
// declaration would make this file a module, and the prelude must stay a script.
type Api = import("./prelude-api.js").PreludeApi;
type LogBridge = import("./prelude-api.js").LogBridge;
type CapabilityBridge = import("./prelude-api.js").CapabilityBridge;
type CapabilityReply = import("./prelude-api.js").CapabilityReply;
type PreludeConfig = import("./prelude-api.js").StageConfig;
type BatchRun = import("./prelude-api.js").BatchRun;
type ReplyText<F extends object, P extends string = never> = import("./prelude-api.js").ReplyText<F, P>;
type ShapeFields = import("./prelude-api.js").ShapeFields;
type SnapshotFields = import("./prelude-api.js").SnapshotFields;
type SliceFields = import("./prelude-api.js").SliceFields;

interface ModDefinition {
  init?: () => unknown;
  migrate?: (old: unknown, fromVersion: string) => unknown;
  on?: Record<string, (state: unknown, payload: unknown, ctx: unknown) => unknown>;
}

(function modhostPrelude() {
  "use strict";
  const g = globalThis as Record<string, unknown>;

  // Primordials: captured before any mod code can replace them.
  const ObjectKeys = Object.keys;
  const ObjectFreeze = Object.freeze;
  const ObjectCreate = Object.create;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const ArrayIsArray = Array.isArray;
  const JSONParse = JSON.parse;
  const JSONStringify = JSON.stringify;
  const ReflectApply = Reflect.apply;
  const FunctionBind = Function.prototype.bind;
  const ReflectConstruct = Reflect.construct;
  const StringCtor = String;
  const NumberIsFinite = Number.isFinite;
  const NumberCtor = Number;
  const MathImul = Math.imul;
  const RealDate = Date;
  const realNow = Date.now;
  const PromiseCtor = Promise;
  const ErrorCtor = Error;
  const EvalErrorCtor = EvalError;
  const RangeErrorCtor = RangeError;
  const ArraySlice = Array.prototype.slice;
  const StringSlice = String.prototype.slice;
  const WeakMapCtor = WeakMap;
  const WeakMapGet = WeakMap.prototype.get;
  const WeakMapSet = WeakMap.prototype.set;
  const ObjectHasOwn = Object.hasOwn;

  // ---- Hardening against the mod's own realm. ----
  // Mod code shares this realm: it can replace anything on Object.prototype / Array.prototype
  // (setters on indices, toJSON, iterators) and reach the constructor of any error it catches.
  // So the text the host parses is never built with JSON.stringify on engine objects or with
  // index stores into ordinary arrays, and an engine error's code is never read back from the
  // error itself.

  /** A property descriptor with no prototype: Object.prototype.get/set cannot leak into it. */
  function dataDescriptor(value: unknown, enumerable: boolean): PropertyDescriptor {
    const d = ObjectCreate(null) as PropertyDescriptor;
    d.value = value;
    d.enumerable = enumerable;
    d.configurable = true;
    return d;
  }
  /** JSON text of a string primitive (JSON.stringify never looks up toJSON on primitives). */
  function quote(text: string): string {
    return JSONStringify(text);
  }

  /**
   * Errors the engine raises inside the isolate carry a code the host maps to ERROR_CODES. The
   * code lives in this private registry, not in the error: a mod can catch an engine error (a
   * failed capability call), reach its constructor and change its properties, and must not be
   * able to forge an engine code (E_TIMEOUT, E_QUARANTINED...) or relabel a real one.
   */
  const engineErrorCodes = new WeakMapCtor<object, string>();
  function sandboxError(code: string, message: string): Error {
    const err = new ErrorCtor(message);
    ObjectDefineProperty(err, "code", dataDescriptor(code, true));
    ReflectApply(WeakMapSet, engineErrorCodes, [err, code]);
    return err;
  }
  /** The code of an error the engine raised, or undefined for anything else. */
  function engineCode(err: unknown): string | undefined {
    if ((typeof err !== "object" && typeof err !== "function") || err === null) return undefined;
    return ReflectApply(WeakMapGet, engineErrorCodes, [err]) as string | undefined;
  }

  // ---- Code generation from strings: every route to the Function constructors throws. ----
  function blockedCodegen(): never {
    throw new EvalErrorCtor("code generation from strings is disabled in modhost mods");
  }
  const functionPrototypes = [
    ObjectGetPrototypeOf(function () {}),
    ObjectGetPrototypeOf(async function () {}),
    ObjectGetPrototypeOf(function* () {}),
    ObjectGetPrototypeOf(async function* () {}),
  ] as object[];
  for (const proto of functionPrototypes) {
    const blocked = function Function() {
      return blockedCodegen();
    };
    ObjectDefineProperty(blocked, "prototype", { value: proto, writable: false });
    ObjectDefineProperty(proto, "constructor", { value: blocked, writable: false, configurable: false });
  }
  ObjectDefineProperty(g, "Function", {
    value: (functionPrototypes[0] as { constructor: unknown }).constructor,
    writable: false,
    configurable: false,
  });
  ObjectDefineProperty(g, "eval", { value: blockedCodegen, writable: false, configurable: false });

  // ---- Globals that could hang, crash or leak out of the sandbox do not exist. ----
  for (const name of [
    "WebAssembly",
    "SharedArrayBuffer",
    "Atomics",
    "FinalizationRegistry",
    "WeakRef",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "queueMicrotask",
  ]) {
    delete g[name];
  }
  // JSON.rawJSON (V8 11.4+, Node 22+) makes an object that JSON.stringify writes as any number
  // text it was given ("1e400", "-0", 30 digits): the host would read Infinity, -0 or a rounded
  // number from a result, a capability's arguments or a checkpoint. Only plain data crosses.
  delete (JSON as unknown as Record<string, unknown>)["rawJSON"];
  delete (JSON as unknown as Record<string, unknown>)["isRawJSON"];

  // ---- Determinism: logical time and a seeded random generator. ----
  // Temporal (V8 14, Node 26) is pure date arithmetic except Temporal.Now, which reads the real
  // clock and the host's time zone: a replay would differ. The rest of Temporal stays.
  const temporal = g["Temporal"];
  if (typeof temporal === "object" && temporal !== null) delete (temporal as Record<string, unknown>)["Now"];
  let logicalNow = 0;
  function ModDate(this: unknown, ...args: unknown[]): unknown {
    if (new.target === undefined) return new RealDate(logicalNow).toString();
    return ReflectConstruct(RealDate, args.length === 0 ? [logicalNow] : args, new.target);
  }
  ObjectDefineProperty(ModDate, "prototype", { value: RealDate.prototype, writable: false });
  ModDate.now = () => logicalNow;
  ModDate.parse = RealDate.parse;
  ModDate.UTC = RealDate.UTC;
  ObjectDefineProperty(RealDate.prototype, "constructor", { value: ModDate, writable: true, configurable: true });
  g.Date = ModDate;

  // Intl.DateTimeFormat formats "now" when given no date: make that the logical time too.
  const DateTimeFormatProto = Intl.DateTimeFormat.prototype;
  const formatGetter = ObjectGetOwnPropertyDescriptor(DateTimeFormatProto, "format")?.get;
  const formatToParts = DateTimeFormatProto.formatToParts;
  if (formatGetter !== undefined) {
    ObjectDefineProperty(DateTimeFormatProto, "format", {
      get(this: Intl.DateTimeFormat) {
        const bound = ReflectApply(formatGetter, this, []) as (date?: Date | number) => string;
        return (date?: Date | number): string => bound(date === undefined ? logicalNow : date);
      },
      configurable: true,
    });
  }
  ObjectDefineProperty(DateTimeFormatProto, "formatToParts", {
    value(this: Intl.DateTimeFormat, date?: Date | number) {
      return ReflectApply(formatToParts, this, [date === undefined ? logicalNow : date]);
    },
    writable: true,
    configurable: true,
  });

  // sfc32: small, fast, and its whole state is four 32-bit words that travel with checkpoints.
  // The words live in four variables (no array per call): the generator runs once per
  // Math.random() of every handler.
  let rngA = 0x9e3779b9, rngB = 0x243f6a88, rngC = 0xb7e15162, rngD = 1;
  function random(): number {
    const a = rngA >>> 0, b = rngB >>> 0, c = rngC >>> 0, d = rngD >>> 0;
    const t = (((a + b) | 0) + d) | 0;
    rngD = (d + 1) | 0;
    rngA = b ^ (b >>> 9);
    rngB = (c + (c << 3)) | 0;
    rngC = (((c << 21) | (c >>> 11)) + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /**
   * Sets the generator's position from parsed JSON: the host sends four numbers, and anything else
   * counts as zeros. Index reads, not destructuring (mod code may have replaced
   * Array.prototype[Symbol.iterator]), and only of a parsed array of four, whose indices are its own
   * (a missing one would be looked up on Array.prototype, where mod code may have put a getter).
   */
  function setRng(words: unknown): void {
    const w = ArrayIsArray(words) && words.length === 4 ? (words as unknown[]) : undefined;
    rngA = w === undefined ? 0 : rngWord(w[0]);
    rngB = w === undefined ? 0 : rngWord(w[1]);
    rngC = w === undefined ? 0 : rngWord(w[2]);
    rngD = w === undefined ? 0 : rngWord(w[3]);
  }
  function rngWord(word: unknown): number {
    return typeof word === "number" && NumberIsFinite(word) ? word : 0;
  }
  /** The generator's position as JSON text, without JSON.stringify (Array.prototype.toJSON). */
  function rngText(): string {
    return `[${rngA},${rngB},${rngC},${rngD}]`;
  }
  void MathImul;
  ObjectDefineProperty(Math, "random", { value: random, writable: true, configurable: true });

  // ---- Strict plain-data serialization (results, state, capability arguments). ----
  // A hand-written walk checks every value, and JSON.stringify then writes the same value
  // natively. The walk keeps the rules (and error texts) of the JSON.stringify-with-a-replacer it
  // replaced, which called back into JavaScript for every value: each position is read with Get
  // (getters and Proxy traps run, inside the timed call), toJSON is called as JSON.stringify calls
  // it and its result checked, objects are read in for-in order (own keys first, as Object.keys
  // gives them) and arrays by index up to their length, and undefined is allowed in objects only.
  // It copies nothing. It used to copy every value under a private prototype for JSON.stringify to
  // write, and with 100 isolates taking turns that copy (a new object, megamorphic keyed stores)
  // cost more than the handler: probes/hundred.js, 100 mods, CPU per mod-event, same runs, took
  // 10-20 % off inline and 6-23 % off process isolation without it (docs/benchmarks.md, finding 15).
  // Objects are read with for-in, whose member loads use the enum cache rather than a megamorphic
  // keyed load as Object.keys + obj[key] does.
  // What that gives up: JSON.stringify reads the value a second time, so a getter or Proxy that
  // answers differently the second time (only code written to do so) gets its own answer written.
  // That is still JSON text of JSON values, built inside the timed call and under the size limit
  // checked below; a getter that returns a huge rope makes V8 flatten it there, which mod code can
  // do on its own anyway (a memory-limit fault; test/adversarial/hostile-values.test.ts).
  /**
   * Characters toJson may still produce. The walk counts a lower bound of the output as it goes
   * and stops a result that will be too large before writing it: a huge string (a rope built in a
   * few microseconds) is not flattened. Also the log formatter's budget (budgetReplacer).
   */
  let jsonBudget = Infinity;
  /**
   * Deepest nesting toJson writes. JSON.stringify with a replacer overflowed the stack at about
   * 2,200 levels in a fresh isolate (fewer when called deep inside a handler) and JSON.parse in the
   * isolate at about 4,200, so a state nested deeper than that could not be imported back. A fixed
   * limit answers alike whatever the stack depth at the call.
   */
  const MAX_DEPTH = 2000;
  /**
   * The objects being written, outermost first, from walkBase to ancestorsTop: meeting one of them
   * again is a cycle. Filled now, before any mod code runs, so that every store is to an own index
   * (a store past the end would look for a setter on Array.prototype, where mod code may put one).
   * A walk started by a getter during another walk (a capability call) stacks above it.
   */
  const ancestors: unknown[] = new Array<unknown>(MAX_DEPTH).fill(null);
  let ancestorsTop = 0;
  let walkBase = 0;
  /** A quick check is running (isQuickPlain). Reset by resetWalk: a stopped call skips finally blocks. */
  let quickActive = false;
  /** How many levels below the value itself isQuickPlain follows objects and arrays; deeper trees go to the walk. */
  const QUICK_DEPTH = 12;
  /** Thrown inside a walk only, and turned into an engine error by toJson (never seen by mod code). */
  const TOO_DEEP = ObjectFreeze(ObjectCreate(null) as object);
  const CYCLIC = ObjectFreeze(ObjectCreate(null) as object);

  /** What an error is about: `what`, or `${what}${handler}()` for a handler (see toJson). */
  function subject(what: string, handler: string | undefined): string {
    return handler === undefined ? what : `${what}${handler}()`;
  }
  function tooLarge(): Error {
    return sandboxError("E_TOO_LARGE", "over the size limit");
  }
  function notPlain(key: string, what: string): Error {
    return sandboxError("E_NOT_PLAIN_DATA", `${describeKey(key)} is ${what}`);
  }
  function describeKey(key: string): string {
    return key === "" ? "the value" : `field "${key}"`;
  }
  /**
   * True while Array.prototype or Object.prototype has an enumerable property (mod code put one
   * there): for-in lists it on every plain object (or object made with Array.prototype as its
   * prototype), JSON.stringify does not, so the walk then skips keys that are not the object's
   * own. Read when a walk starts.
   */
  let inheritedKeys = false;
  function hasEnumerable(obj: object): boolean {
    for (const key in obj) {
      void key;
      return true;
    }
    return false;
  }
  // The budget counts, per value written: a string's length + 2, 1 for anything else, and in an
  // object the member's key length + 3 (`"key":`), except for the key "". Strings, numbers,
  // booleans and null in objects and arrays are checked in checkMembers' own loop: with 100
  // isolates taking turns every call runs on cold caches, and each function call more costs.
  /**
   * Checks the value at `key` of its holder (an array's element if `inArray`; "" at the root):
   * a string, finite number, boolean or null, a plain object or array of such values, or (in an
   * object) undefined, which JSON.stringify leaves out. `viaToJSON`: the value is what a toJSON
   * returned, which is checked but not asked for its own toJSON (JSON.stringify asks once per
   * position).
   */
  function checkValue(raw: unknown, key: string, inArray: boolean, viaToJSON: boolean): void {
    const keyCost = inArray || key === "" ? 0 : key.length + 3;
    switch (typeof raw) {
      case "string":
        if ((jsonBudget -= raw.length + 2 + keyCost) < 0) throw tooLarge();
        return;
      case "number":
        if (!NumberIsFinite(raw)) throw notPlain(key, `${StringCtor(raw)}, which JSON cannot hold`);
        if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
        return;
      case "boolean":
        if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
        return;
      case "object": {
        if (raw === null) {
          if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
          return;
        }
        const proto = ObjectGetPrototypeOf(raw);
        if (proto !== ObjectProto && proto !== ArrayProto && proto !== null) {
          const ctor = proto && typeof proto.constructor === "function" ? (proto.constructor as { name?: string }).name : "";
          throw notPlain(key, `a ${ctor || "non-plain object"}; only plain objects, arrays, strings, finite numbers, booleans and null cross the sandbox`);
        }
        if (!viaToJSON) {
          // A toJSON on a plain object (its own or one mod code put on Object.prototype) may return
          // anything: what it returned must be plain data too, or a Map, NaN or function slips through.
          const toJSON = (raw as { toJSON?: unknown }).toJSON;
          if (typeof toJSON === "function") {
            const value = ReflectApply(toJSON, raw, [key]);
            if (value !== raw) return checkValue(value, key, inArray, true);
          }
        }
        if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
        checkMembers(raw);
        return;
      }
      default:
        if (raw === undefined && key !== "" && !inArray) return; // absent optional field
        throw notPlain(key, `a ${typeof raw}; only plain data crosses the sandbox`);
    }
  }
  /** Checks the members of a plain object or array (itself checked and counted by checkValue). */
  function checkMembers(obj: object): void {
    if (ancestorsTop >= MAX_DEPTH) throw TOO_DEEP;
    for (let i = walkBase; i < ancestorsTop; i++) if (ancestors[i] === obj) throw CYCLIC;
    ancestors[ancestorsTop++] = obj;
    if (ArrayIsArray(obj)) {
      const length = lengthOf((obj as unknown[]).length);
      for (let i = 0; i < length; i++) {
        const raw = (obj as unknown[])[i];
        // The same as checkValue's, for the common values, in this loop (see above).
        if (typeof raw === "string") {
          if ((jsonBudget -= raw.length + 2) < 0) throw tooLarge();
        } else if (typeof raw === "number" && NumberIsFinite(raw)) {
          if ((jsonBudget -= 1) < 0) throw tooLarge();
        } else if (typeof raw === "boolean") {
          if ((jsonBudget -= 1) < 0) throw tooLarge();
        } else {
          checkValue(raw, `${i}`, true, false);
        }
      }
    } else {
      for (const name in obj) {
        if (inheritedKeys && !ObjectHasOwn(obj, name)) continue;
        const raw = (obj as Record<string, unknown>)[name];
        // The same as checkValue's, for the common values, in this loop (see above).
        const keyCost = name === "" ? 0 : name.length + 3;
        if (typeof raw === "string") {
          if ((jsonBudget -= raw.length + 2 + keyCost) < 0) throw tooLarge();
        } else if (typeof raw === "number" && NumberIsFinite(raw)) {
          if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
        } else if (typeof raw === "boolean") {
          if ((jsonBudget -= 1 + keyCost) < 0) throw tooLarge();
        } else {
          checkValue(raw, name, false, false);
        }
      }
    }
    ancestors[--ancestorsTop] = null;
  }
  /**
   * Forgets any walk left half-done. A call the host stopped at its time limit does not run
   * toJson's `finally` (V8 skips finally blocks on termination), and the isolate serves on after a
   * late promise callback is stopped: every entry from the host starts from an empty walk, or the
   * stale ancestors would make later results "nested too deeply" (and keep old objects alive).
   */
  function resetWalk(): void {
    while (ancestorsTop > 0) ancestors[--ancestorsTop] = null;
    walkBase = 0;
    jsonBudget = Infinity;
    inheritedKeys = false;
    quickActive = false;
  }
  /** An array's length as JSON.stringify takes it (ToLength): a Proxy may answer anything. */
  function lengthOf(value: unknown): number {
    const n = +(value as number);
    if (!(n > 0)) return 0;
    return n > 9007199254740991 ? 9007199254740991 : n - (n % 1);
  }
  /**
   * Serializes plain data to JSON, or throws an engine error (E_NOT_PLAIN_DATA, E_TOO_LARGE) about
   * `what`, or, given a handler's name, about `${what}${handler}()` (built only for the error: an
   * event should not pay for the text of an error it does not have).
   */
  function toJson(value: unknown, what: string, maxBytes: number, handler?: string): string {
    if (!isQuickPlain(value, maxBytes)) checkPlainData(value, what, maxBytes, handler);
    return writeJson(value, what, maxBytes, handler);
  }

  /** JSON.stringify of a value already checked as plain data, held to `maxBytes` (toJson's errors). */
  function writeJson(value: unknown, what: string, maxBytes: number, handler?: string): string {
    const text = JSONStringify(value) as string | undefined;
    // The walk refuses a root that writes nothing; a toJSON that answers undefined the second time does.
    if (text === undefined) return "null";
    if (text.length > maxBytes) throw sandboxError("E_TOO_LARGE", `${subject(what, handler)} is ${text.length} characters, over the ${maxBytes} limit`);
    return text;
  }

  /**
   * The walk's verdict for the commonest values, plain trees: plain objects (prototype
   * Object.prototype, no `toJSON` property) and arrays (Array.prototype) whose members are strings,
   * finite numbers, booleans, null, such objects and arrays no deeper than QUICK_DEPTH, or (in an
   * object) undefined, within `maxBytes` by the walk's count: true only where the walk would pass
   * the value; false sends it to the walk, which decides and words the error as before (also when
   * reading a member threw here: the walk reads it again). Needs no cycle check: a cycle goes
   * deeper than QUICK_DEPTH, and the walk finds it.
   *
   * Why: with 100 isolates taking turns, each compiles its own optimized code for every hot
   * function, and the walk's four functions were 45 % of the isolates' compiling in their first
   * seconds, and 11-15 % of a dispatch's cost at 100 mods on cold caches, though plain data needs
   * none of their generality (cycles, toJSON results, errors' wording). One loop per object here
   * keeps them cold: for results (docs/benchmarks.md finding 17) and for the state a checkpoint
   * exports (finding 18). Stricter than the walk where that is cheaper: a toJSON property, a null
   * prototype, or enumerable keys inherited from the prototypes send the value to the walk.
   */
  function isQuickPlain(value: unknown, maxBytes: number): boolean {
    // Not inside itself nor inside a walk: a getter either reads may call a capability, whose
    // arguments are checked in turn; a quick check there would read that getter again before the
    // walk does, at every level (a getter passing its own object to a capability ran 2^depth times
    // inside quick checks, and depth^2 / 2 times under walks), and would not see the walk's depth.
    if (quickActive || ancestorsTop > 0 || typeof value !== "object" || value === null) return false;
    quickActive = true;
    try {
      if (hasEnumerable(ArrayProto)) return false;
      if (ArrayIsArray(value) || ObjectGetPrototypeOf(value) !== ObjectProto) return quickTree(value, QUICK_DEPTH, maxBytes) >= 0;
      // A plain object, the commonest root, in this loop: each call more costs on cold caches
      // (100 isolates taking turns; with the root through quickTree, flat results cost 4-8 % more
      // per dispatch in prelude-micro.js at 100 mods). The same member rules as quickTree's.
      if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
      let budget = maxBytes - 1;
      for (const name in value) {
        const raw = (value as Record<string, unknown>)[name];
        const keyCost = name === "" ? 0 : name.length + 3;
        if (typeof raw === "string") budget -= raw.length + 2 + keyCost;
        else if ((typeof raw === "number" && NumberIsFinite(raw)) || typeof raw === "boolean" || raw === null) budget -= 1 + keyCost;
        else if (typeof raw === "object") {
          budget = quickTree(raw, QUICK_DEPTH - 1, budget - keyCost);
          if (budget < 0) return false; // the walk decides: read no further here
        } else if (raw !== undefined || name === "") return false;
      }
      return budget >= 0;
    } catch {
      // A getter or Proxy trap threw (or the stack ran out): the walk meets it again and reports it in its own words.
      return false;
    } finally {
      quickActive = false;
    }
  }
  /**
   * isQuickPlain's check of one object or array and its members, `depth` levels more allowed
   * below it: what is left of `budget` after them by the walk's count, or -1 where the walk must
   * decide (also when over the budget). The count travels as an argument, not a shared variable,
   * so that it stays in a register.
   */
  function quickTree(obj: object, depth: number, budget: number): number {
    if ((obj as { toJSON?: unknown }).toJSON !== undefined) return -1;
    budget -= 1;
    // An array's members are read as JSON.stringify and the walk read them (by index, whatever its
    // prototype): for-in would skip its holes.
    const isArray = ArrayIsArray(obj);
    if (ObjectGetPrototypeOf(obj) !== (isArray ? ArrayProto : ObjectProto)) return -1;
    if (!isArray) {
      for (const name in obj) {
        const raw = (obj as Record<string, unknown>)[name];
        const keyCost = name === "" ? 0 : name.length + 3;
        if (typeof raw === "string") budget -= raw.length + 2 + keyCost;
        else if ((typeof raw === "number" && NumberIsFinite(raw)) || typeof raw === "boolean" || raw === null) budget -= 1 + keyCost;
        else if (typeof raw === "object") budget = depth === 0 ? -1 : quickTree(raw, depth - 1, budget - keyCost);
        else if (raw !== undefined || name === "") return -1; // an absent optional field passes, as in the walk
        if (budget < 0) return -1;
      }
      return budget;
    }
    const length = lengthOf((obj as unknown[]).length);
    for (let i = 0; i < length; i++) {
      const raw = (obj as unknown[])[i];
      if (typeof raw === "string") budget -= raw.length + 2;
      else if ((typeof raw === "number" && NumberIsFinite(raw)) || typeof raw === "boolean" || raw === null) budget -= 1;
      else if (typeof raw === "object") budget = depth === 0 ? -1 : quickTree(raw, depth - 1, budget);
      else return -1; // undefined too: the walk refuses it in an array
      if (budget < 0) return -1;
    }
    return budget;
  }

  /**
   * Checks that `value` is plain data (as toJson does) without writing its JSON: a state that
   * becomes the live one needs the check, and its text only when a checkpoint asks for it.
   */
  function checkPlain(value: unknown, what: string): void {
    if (!isQuickPlain(value, Infinity)) checkPlainData(value, what, Infinity);
  }

  /** V8's message for a stack overflow (the same in V8 11 to 13, Node 20 to 24). */
  const STACK_OVERFLOW_MESSAGE = "Maximum call stack size exceeded";

  /**
   * One walk reads every position of `value` (getters, Proxy traps and toJSON run here, inside the
   * timed call) and checks it; throws toJson's engine errors.
   */
  function checkPlainData(value: unknown, what: string, maxBytes: number, handler?: string): void {
    // Saved and restored: a getter run by this walk may call a capability, which serializes its
    // arguments in turn, above this walk's ancestors.
    const outerBudget = jsonBudget;
    const outerBase = walkBase;
    const outerTop = ancestorsTop;
    const outerInherited = inheritedKeys;
    jsonBudget = maxBytes;
    walkBase = ancestorsTop;
    // Array.prototype's for-in also lists Object.prototype's keys.
    inheritedKeys = hasEnumerable(ArrayProto);
    try {
      checkValue(value, "", false, false);
    } catch (err) {
      if (err === TOO_DEEP) throw sandboxError("E_NOT_PLAIN_DATA", `${subject(what, handler)} is nested too deeply`);
      if (err === CYCLIC) throw sandboxError("E_NOT_PLAIN_DATA", `${subject(what, handler)} is cyclic`);
      const code = engineCode(err);
      if (code === "E_TOO_LARGE") throw sandboxError(code, `${subject(what, handler)} is over the ${maxBytes} character limit`);
      if (code !== undefined) throw sandboxError(code, `${subject(what, handler)}: ${StringCtor((err as Error).message)}`);
      // The walk's own recursion overflowed the stack (a walk started deep inside a handler). Any
      // other RangeError came from mod code (a getter, a toJSON) and is reported as it threw it.
      if (err instanceof RangeErrorCtor && (err as Error).message === STACK_OVERFLOW_MESSAGE) {
        throw sandboxError("E_NOT_PLAIN_DATA", `${subject(what, handler)} is nested too deeply`);
      }
      throw err;
    } finally {
      jsonBudget = outerBudget;
      walkBase = outerBase;
      inheritedKeys = outerInherited;
      while (ancestorsTop > outerTop) ancestors[--ancestorsTop] = null;
    }
  }

  // ---- Engine state, set by boot(). ----
  let config: PreludeConfig | undefined;
  let definition: ModDefinition | undefined;
  let state: unknown;
  let log: LogBridge | undefined;
  let capability: CapabilityBridge | undefined;
  let currentSeq = -1;
  let logsThisCall = 0;
  let droppedLogs = 0;
  /** The host said the mod is over its log rate: drop lines here until the next dispatch. */
  let logsMuted = false;
  /** Real time the current event began (for the capability time budget). */
  let eventStart = 0;
  /**
   * A refusal the host said holds for the rest of the event: further calls throw it again without
   * crossing (one error object per event: a loop of refused calls stays cheap).
   */
  let finalRefusal: Error | undefined;
  /** The event's time ran out in a capability call: it is stopped, and the slice ends with it. */
  let eventCut = false;
  /** The live version's `on` object and result size limit, for runEvent (set by dispatch). */
  let eventOn: Record<string, unknown> = ObjectCreate(null) as Record<string, unknown>;
  let eventMaxBytes = 0;
  let ctx: unknown;

  /** Lets JSON.stringify write anything (logs are lenient) but stops it past jsonBudget. */
  function budgetReplacer(this: unknown, key: string, value: unknown): unknown {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") return value; // not written
    let cost = typeof value === "string" ? value.length + 2 : 1;
    if (key !== "" && !ArrayIsArray(this)) cost += key.length + 3;
    jsonBudget -= cost;
    if (jsonBudget < 0) throw sandboxError("E_TOO_LARGE", "over the size limit");
    return value;
  }
  function formatLogArg(value: unknown, maxBytes: number): string {
    if (typeof value === "string") return value;
    const outerBudget = jsonBudget;
    jsonBudget = maxBytes;
    try {
      const text = JSONStringify(value, budgetReplacer);
      return text === undefined ? StringCtor(value) : text;
    } catch (err) {
      if (engineCode(err) === "E_TOO_LARGE") return `[${typeof value} over ${maxBytes} characters]`;
      return StringCtor(typeof value);
    } finally {
      jsonBudget = outerBudget;
    }
  }
  function makeLogger(level: string) {
    return (...args: unknown[]): void => {
      if (log === undefined || config === undefined) return;
      if (logsMuted || logsThisCall >= config.maxLogsPerCall) {
        droppedLogs++;
        return;
      }
      logsThisCall++;
      let message = "";
      for (let i = 0; i < args.length && message.length <= config.maxBytes; i++) message += (i ? " " : "") + formatLogArg(args[i], config.maxBytes);
      if (message.length > config.maxBytes) message = ReflectApply(StringSlice, message, [0, config.maxBytes]) + "…[truncated]";
      if (log(level, message, currentSeq) === "drop") logsMuted = true;
    };
  }
  const modConsole = ObjectFreeze({
    log: makeLogger("info"),
    info: makeLogger("info"),
    debug: makeLogger("debug"),
    warn: makeLogger("warn"),
    error: makeLogger("error"),
  });
  ObjectDefineProperty(g, "console", { value: modConsole, writable: true, configurable: true });

  function makeCapability(permission: string) {
    return (...args: unknown[]): unknown => {
      if (capability === undefined || config === undefined) throw new ErrorCtor("capabilities are not available now");
      if (finalRefusal !== undefined) throw finalRefusal;
      const argsJson = toJson(args, "arguments of host.", config.maxBytes, permission);
      const reply = capability(currentSeq, permission, argsJson, realNow() - eventStart);
      const parsed = JSONParse(reply) as CapabilityReply;
      if (!parsed.ok) {
        const code = typeof parsed.code === "string" ? parsed.code : "E_CAPABILITY_FAILED";
        const message = typeof parsed.message === "string" ? parsed.message : `host.${permission}() failed`;
        const err = sandboxError(code, message);
        if (parsed.final === true) finalRefusal = err;
        if (parsed.cut === true) eventCut = true;
        throw err;
      }
      return parsed.value;
    };
  }

  /** Longest message or stack text an error result carries (a mod can throw a huge string). */
  const ERROR_TEXT_MAX = 16 * 1024;
  function capText(text: string): string {
    return text.length > ERROR_TEXT_MAX ? ReflectApply(StringSlice, text, [0, ERROR_TEXT_MAX]) + "…[truncated]" : text;
  }

  /**
   * Describes an error thrown inside the isolate as JSON text `{ code, message, stack? }`. Only an
   * engine error (see sandboxError) has its own code; anything the mod threw gets `fallbackCode`.
   */
  function errorJson(err: unknown, fallbackCode: string): string {
    let code = fallbackCode;
    let message: string;
    let stack: string | undefined;
    try {
      const engine = engineCode(err);
      if (engine !== undefined) {
        code = engine;
        message = StringCtor((err as Error).message);
        stack = StringCtor((err as Error).stack);
      } else if (err instanceof ErrorCtor) {
        message = `${StringCtor(err.name)}: ${StringCtor(err.message)}`;
        stack = StringCtor(err.stack);
      } else {
        message = `threw ${typeof err === "string" ? err : typeof err}`;
      }
    } catch {
      message = "threw a value that could not be described";
      stack = undefined;
    }
    return `{"code":${quote(code)},"message":${quote(capText(message))}${stack === undefined ? "" : `,"stack":${quote(capText(stack))}`}}`;
  }

  /**
   * A reply (see prelude-api.ts): the header `{"ok":true<fields>}`, then "\n" and the payload if
   * there is one. `fields` is JSON members text, each starting with ",", built by hand (never
   * JSON.stringify on engine objects, see above).
   */
  function okReply<F extends object, P extends string = never>(fields: string, payload?: P): ReplyText<F, P> {
    return (payload === undefined ? `{"ok":true${fields}}` : `{"ok":true${fields}}\n${payload}`) as ReplyText<F, P>;
  }
  function failedReply<F extends object, P extends string = never>(err: unknown, fallbackCode: string): ReplyText<F, P> {
    return `{"ok":false,"error":${errorJson(err, fallbackCode)}}` as ReplyText<F, P>;
  }

  function checkSync(value: unknown, what: string, handler?: string): unknown {
    if (value instanceof PromiseCtor || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function")) {
      throw sandboxError("E_ASYNC_HANDLER", `${subject(what, handler)} returned a Promise; handlers must be synchronous`);
    }
    return value;
  }

  /** A handler and the same function bound to its `on` object (this of every call). */
  interface BoundHandler {
    readonly handler: unknown;
    readonly bound: (state: unknown, payload: unknown, ctx: unknown) => unknown;
  }
  /**
   * Bound handlers of the `on` object boundOn, by event name: an event calls its handler without a
   * Reflect.apply and an arguments array each time. An entry is used only while `on[name]` is still
   * the function it was made from (mod code may replace its handlers).
   */
  let boundOn: object | undefined;
  let boundHandlers = ObjectCreate(null) as Record<string, BoundHandler | undefined>;
  function boundHandler(on: object, name: string, handler: unknown): BoundHandler["bound"] {
    if (on !== boundOn) {
      boundOn = on;
      boundHandlers = ObjectCreate(null) as Record<string, BoundHandler | undefined>;
    }
    const entry = boundHandlers[name];
    if (entry !== undefined && entry.handler === handler) return entry.bound;
    const bound = ReflectApply(FunctionBind, handler, [on]) as BoundHandler["bound"];
    boundHandlers[name] = { handler, bound };
    return bound;
  }

  /** Where a batch run's payloads begin: after its first seq, its name and its time (BatchRun). */
  const RUN_HEAD = 3;

  /**
   * Calls a mod's handler, and dispatch calls runEvent, from call sites that V8 sees as
   * megamorphic (primed below), so that its optimizing compiler inlines neither: with 100 isolates
   * each compiles its own optimized code of every hot function, and a handler (and the walk)
   * inlined into the event loop made that loop the largest compile of all, once per isolate. The
   * handler is still optimized on its own, as in any loader.
   */
  function callHandler(fn: (s: unknown, p: unknown, c: unknown) => unknown, s: unknown, p: unknown, c: unknown): unknown {
    return fn(s, p, c);
  }
  function callEvent(fn: (run: BatchRun, k: number, clock: number) => string, run: BatchRun, k: number, clock: number): string {
    return fn(run, k, clock);
  }
  /**
   * runEvent, read from here by dispatch: a function the compiler sees as a constant would be
   * inlined whatever the call site's feedback (an array element is not folded to a constant).
   */
  const eventRunner = [runEvent];
  // Priming: enough calls for V8 to give both their feedback, with more distinct targets than a
  // call site keeps (4), so that they are megamorphic from the start. Only a compiler hint: a V8
  // that did not take it would inline again, with the same results.
  {
    const targets = [() => "0", () => "1", () => "2", () => "3", () => "4", () => "5"];
    for (let i = 0; i < 600; i++) {
      callHandler(targets[i % 6] as () => string, undefined, undefined, undefined);
      callEvent(targets[i % 6] as () => string, [0, "", 0, null], RUN_HEAD, 0);
    }
  }

  // ---- Results of the slice in progress, kept here so they survive a terminated call. ----
  /**
   * The finished events' results, comma-separated, and how many they are. Each event sets both
   * with two plain stores and no call between them, where a termination cannot fall.
   */
  let sliceText = "";
  let sliceDone = 0;
  /**
   * Past this many events in a slice, each result's text is flattened as it joins sliceText. A
   * result built by the walk is a tree of a dozen short strings, and the slice keeps every one
   * alive to its end: in a 1000-event call they outlive two scavenges and are copied into the old
   * generation (10k-entity combat: 60 scavenges and 46 ms per 30k events against 30 and 5 ms for
   * the naive loader). A flat copy is one small string; a short call is not worth the copy.
   */
  const FLATTEN_AFTER = 16;
  /** Written so that the conversion that flattens a result (ToNumber) is not optimized away. */
  let flattened = 0;

  /** A version of the mod's code: its manifest-derived config, its definition and its ctx. */
  interface World {
    config: PreludeConfig;
    ctx: unknown;
    definition: ModDefinition | undefined;
  }
  let staged: World | undefined;
  let registrationName: string | undefined;
  let sliceFinished = false;
  /** The number of the dispatch call that sliceText, sliceDone and sliceFinished belong to. */
  let sliceNumber = -1;

  function makeWorld(configJson: string): World {
    const cfg = JSONParse(configJson) as PreludeConfig;
    const host = ObjectCreate(null) as Record<string, unknown>;
    for (let i = 0; i < cfg.permissions.length; i++) {
      const permission = cfg.permissions[i] as string;
      host[permission] = makeCapability(permission);
    }
    ObjectFreeze(host);
    const world: World = {
      config: cfg,
      definition: undefined,
      ctx: ObjectFreeze({
        host,
        mod: ObjectFreeze({ name: cfg.mod.name, version: cfg.mod.version }),
        now: () => logicalNow,
        random,
        log: modConsole.log,
      }),
    };
    return world;
  }

  function stagedWorld(): World {
    if (staged === undefined) throw sandboxError("E_INTERNAL", "no version is staged");
    return staged;
  }

  /** describe()'s work: throws an engine error (E_MOD_DEFINITION) for a definition it cannot run. */
  function describeDefinition(): ReplyText<ShapeFields> {
    const def = stagedWorld().definition;
    if (typeof def !== "object" || def === null) {
      throw sandboxError("E_MOD_DEFINITION", "the entry module must `export default defineMod({ ... })`");
    }
    const on = def.on ?? {};
    if (typeof on !== "object" || on === null) throw sandboxError("E_MOD_DEFINITION", "`on` must be an object of event handlers");
    let eventsJson = "";
    const keys = ObjectKeys(on);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      if (typeof on[key] !== "function") throw sandboxError("E_MOD_DEFINITION", `on.${key} must be a function`);
      eventsJson += (k ? "," : "") + quote(key);
    }
    if (def.init !== undefined && typeof def.init !== "function") throw sandboxError("E_MOD_DEFINITION", "`init` must be a function");
    if (def.migrate !== undefined && typeof def.migrate !== "function") throw sandboxError("E_MOD_DEFINITION", "`migrate` must be a function");
    // Built by hand: JSON.stringify on an object would consult a toJSON mod code put on Object.prototype.
    return okReply<ShapeFields>(`,"events":[${eventsJson}],"hasInit":${typeof def.init === "function"},"hasMigrate":${typeof def.migrate === "function"}`);
  }

  const api = {
    /** Connects the host's bridges and seeds the random generator. Called once per isolate. */
    boot(logBridge: LogBridge, capabilityBridge: CapabilityBridge, seedJson: string): void {
      log = logBridge;
      capability = capabilityBridge;
      setRng(JSONParse(seedJson));
    },

    /**
     * Prepares a version's world; the modules evaluated next register their definition into it
     * through a global that the internal module deletes before any mod module runs.
     */
    stage(configJson: string, registerName: string): void {
      const world = makeWorld(configJson);
      staged = world;
      // A fresh, unguessable global name per staging (the host picks it): a version cannot pin
      // the name the next version registers through.
      registrationName = registerName;
      ObjectDefineProperty(
        g,
        registerName,
        dataDescriptor((def: unknown) => {
          world.definition = def as ModDefinition;
        }, false),
      );
    },

    /** Checks what the staged entry module registered: its events, and whether it has init/migrate. */
    describe(): ReplyText<ShapeFields> {
      return guarded(() => describeDefinition(), "E_MOD_DEFINITION");
    },

    /** Makes the staged version live; the state object is handed over as it is. */
    activate(): void {
      const world = stagedWorld();
      staged = undefined;
      config = world.config;
      ctx = world.ctx;
      definition = world.definition;
    },

    /** Forgets the staged version. */
    abort(): void {
      staged = undefined;
      if (registrationName !== undefined) delete g[registrationName];
    },

    /**
     * Runs the staged version's migrate() on the live state and, if the result is plain data,
     * makes that version live with it. No checkpoint is written here (the journal records the
     * migrate, and a recovery runs it again): the state's text is not needed at the barrier. On failure the live state may have been changed by migrate(): the host restores it.
     */
    migrateInPlace(fromVersion: string, now: number): ReplyText<object> {
      return guarded(() => {
        const world = stagedWorld();
        const def = world.definition as ModDefinition;
        if (!def.migrate) throw sandboxError("E_MIGRATION_REQUIRED", "the new version has no migrate()");
        logicalNow = now;
        const value = checkSync(ReflectApply(def.migrate, def, [state, fromVersion]), "migrate()");
        checkPlain(value, "the state returned by migrate()");
        staged = undefined;
        config = world.config;
        ctx = world.ctx;
        definition = def;
        state = value;
        return okReply<object>("");
      }, "E_MIGRATION_FAILED");
    },

    /** Creates the first state with init() (or `{}`), at logical time `now`. */
    initState(now: number): ReplyText<object> {
      return guarded(() => {
        logicalNow = now;
        const def = definition as ModDefinition;
        const value = def.init ? checkSync(def.init(), "init()") : {};
        checkPlain(value, "the state returned by init()");
        state = value;
        return okReply<object>("");
      }, "E_THREW");
    },

    /** Runs migrate(old, fromVersion) and makes its result the state. */
    migrateState(oldJson: string, fromVersion: string, now: number): ReplyText<object> {
      return guarded(() => {
        logicalNow = now;
        const def = definition as ModDefinition;
        if (!def.migrate) throw sandboxError("E_MIGRATION_REQUIRED", "this version has no migrate()");
        const value = checkSync(def.migrate(JSONParse(oldJson), fromVersion), "migrate()");
        checkPlain(value, "the state returned by migrate()");
        state = value;
        return okReply<object>("");
      }, "E_MIGRATION_FAILED");
    },

    /** The whole resumable world of the mod: its state and the random generator's position. */
    exportState(): ReplyText<SnapshotFields, string> {
      // The state is the payload: the host splits it off without parsing it.
      return guarded(() => okReply<SnapshotFields, string>(`,"rng":${rngText()}`, toJson(state, "the state", Infinity)), "E_NOT_PLAIN_DATA");
    },

    importState(stateJson: string, rngJson: string): void {
      state = JSONParse(stateJson);
      setRng(JSONParse(rngJson));
    },

    /**
     * Runs events in order from the batch until all are done or `sliceMs` of real time has passed
     * since the slice began (checked between events), so that every event still has the full call
     * timeout. The reply counts the events done; its payload is their results, comma-separated.
     */
    dispatch(batchJson: string, sliceMs: number, slice: number): ReplyText<SliceFields, string> {
      // First, and in this order: the last slice's results go before this call claims the number.
      // A call stopped before this (a starved thread, a long batch parse) must not make collect()
      // hand out the previous slice's results, nor sliceFinished() its "ran to the end", as its own.
      sliceText = "";
      sliceDone = 0;
      sliceFinished = false;
      sliceNumber = slice;
      resetWalk();
      const runs = JSONParse(batchJson) as BatchRun[];
      const def = definition as ModDefinition;
      eventOn = (def.on ?? {}) as Record<string, unknown>;
      eventMaxBytes = (config as PreludeConfig).maxBytes;
      logsThisCall = 0;
      droppedLogs = 0;
      logsMuted = false;
      const start = realNow();
      // Short loops: everything an event does is in runEvent, so this function stays small
      // (with 100 isolates, V8 compiles each hot function once per isolate; see runEvent).
      let i = 0;
      runs: for (let r = 0; r < runs.length; r++) {
        const run = runs[r] as BatchRun;
        for (let k = RUN_HEAD; k < run.length; k++) {
          // One clock read per event: the slice check and the event's start for capability budgets.
          const clock = i === 0 ? start : realNow();
          if (clock - start >= sliceMs && i > 0) break runs;
          const result = callEvent(eventRunner[0] as typeof runEvent, run, k, clock);
          // Stopped as a timeout: no result, and no later event runs on the state it left.
          if (eventCut) break runs;
          // ToNumber flattens a string in place (V8): the tree's parts die young (see FLATTEN_AFTER).
          if (i >= FLATTEN_AFTER) flattened = NumberCtor(result);
          sliceText = sliceDone === 0 ? result : `${sliceText},${result}`;
          sliceDone = ++i;
        }
      }
      currentSeq = -1;
      finalRefusal = undefined;
      // Lines dropped here are counted in the sandbox's "N log lines dropped" summary.
      if (droppedLogs > 0 && log) log("dropped", `${droppedLogs}`, -1);
      sliceFinished = true;
      return okReply<SliceFields, string>(`,"done":${i}`, sliceText);
    },

    /** "1" if the last dispatch slice ran to its end (what stopped the call came after: late work). */
    sliceFinished(slice: number): "1" | "0" {
      return sliceFinished && sliceNumber === slice ? "1" : "0";
    },

    /** After a terminated dispatch: the results of the events that finished before it. */
    collect(slice: number): ReplyText<SliceFields, string> {
      currentSeq = -1;
      if (sliceNumber !== slice) return okReply<SliceFields, string>(`,"done":0`, "");
      return okReply<SliceFields, string>(`,"done":${sliceDone}`, sliceText);
    },
  } satisfies Api;

  /**
   * Runs one event of a dispatch and returns its result's JSON text; sets eventCut if a capability
   * call said its time ran out. `clock` is the real time it starts at (capability budgets).
   */
  function runEvent(run: BatchRun, k: number, clock: number): string {
    const on = eventOn;
    // Index access, not destructuring: mod code may have replaced Array.prototype[Symbol.iterator].
    const name = run[1];
    currentSeq = run[0] + k - RUN_HEAD;
    logicalNow = run[2];
    eventStart = clock;
    finalRefusal = undefined;
    eventCut = false;
    try {
      const handler = on[name];
      if (typeof handler !== "function") throw sandboxError("E_THREW", `no handler for "${name}"`);
      const value = callHandler(boundHandler(on, name, handler), state, run[k], ctx);
      // A tagged pair of the result list (engine/src/model/result-list.ts): 1 value, 2 none, 0 failed.
      if (value === undefined) return "2,0";
      // A plain object passed checkSync's instanceof already (its prototype is Object.prototype)
      // and has no enumerable `then` (the quick check read every enumerable key): the quick check
      // stands in for checkSync (one lookup less per event on cold caches). So a `then` function
      // that is not enumerable (its own, or one mod code put on Object.prototype) passes as data
      // on a plain object; JSON does not write it, and the host never awaits a result. An array's
      // keys other than its indices are not read by the quick check: it gets checkSync.
      if (!isQuickPlain(value, eventMaxBytes)) {
        checkSync(value, "on.", name);
        checkPlainData(value, "the result of on.", eventMaxBytes, name);
      } else if (ArrayIsArray(value)) checkSync(value, "on.", name);
      return `1,${writeJson(value, "the result of on.", eventMaxBytes, name)}`;
    } catch (err) {
      return `0,${errorJson(err, "E_THREW")}`;
    }
  }

  /** Runs `fn`; any throw becomes a JSON error envelope instead of crossing as an exception. */
  function guarded<F extends object, P extends string>(fn: () => ReplyText<F, P>, fallbackCode: string): ReplyText<F, P> {
    resetWalk();
    try {
      return fn();
    } catch (err) {
      return failedReply<F, P>(err, fallbackCode);
    }
  }

  return ObjectFreeze(api);
})();
