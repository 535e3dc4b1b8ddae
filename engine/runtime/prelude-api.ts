/*
 * The contract between the prelude (prelude.ts, inside every isolate) and the host side that calls
 * it (engine/src/sandbox: mod-instance.ts, prelude-protocol.ts). Types only: it compiles under both
 * tsconfigs, the prelude checks its API object against it (`satisfies PreludeApi`) and the host
 * derives the list of functions it keeps References to, and each reply's decoder, from it. A
 * function added, renamed or re-typed on one side and not the other is a compile error.
 *
 * Only strings and numbers cross (and the two host callbacks handed to boot()). Every text the
 * prelude answers with is one of the Reply shapes below: a header line of JSON, then, for replies
 * that carry one, "\n" and a payload the host forwards without parsing (a state, a results list).
 * JSON text never holds a raw newline, so the first "\n" always ends the header.
 */

/** How the prelude describes a failure: an engine code (or the call's fallback code) and text. */
export interface PreludeFailure {
  readonly code: string;
  readonly message: string;
  /** The isolate's stack, when the failure was something thrown. */
  readonly stack?: string;
}

/** The header of every reply: what the call produced, or why it failed. */
export type ReplyHeader<Fields extends object> = ({ readonly ok: true } & Fields) | { readonly ok: false; readonly error: PreludeFailure };

/**
 * Reply text whose header is `ReplyHeader<Fields>` and whose payload (after the first "\n") is
 * `Payload` text, or absent when Payload is `never`. A compile-time brand only (no such property
 * exists): a plain string is not a ReplyText, so the prelude builds replies through its two reply
 * builders, and the host decodes each with the decoder for its Fields.
 */
export type ReplyText<Fields extends object, Payload extends string = never> = string & {
  readonly __reply: { readonly fields: Fields; readonly payload: Payload };
};

/** What a definition handles: the header of describe()'s reply. */
export interface ShapeFields {
  readonly events: readonly string[];
  readonly hasInit: boolean;
  readonly hasMigrate: boolean;
}

/** The random generator's four words: the header of a snapshot reply (the payload is the state JSON). */
export interface SnapshotFields {
  readonly rng: readonly number[];
}

/** How many events of the batch finished: the header of a slice reply. */
export interface SliceFields {
  readonly done: number;
}

/**
 * The results of a slice, as the inside of a JSON array of tagged pairs, one pair per event:
 * `1,<value>`, `2,0` (no value) or `0,<error>` (empty when none; engine/src/model/result-list.ts).
 */
export type ResultListText = string;

/** State JSON, forwarded as it is. */
export type StateText = string;

/**
 * `[[seq, name, now, payload, payload, ...], ...]`: the events of a dispatch batch, as runs of
 * events with one name and one logical time whose seqs follow each other (the k-th payload of a
 * run is event seq + k). A tick is most often one run per mod: JSON.parse then makes one array
 * and one time for the run instead of an array and a heap number per event (V8: 10 events
 * 430 -> 265 ns each, 1000 events 624 -> 260).
 */
export type BatchText = string;

/** One run of a batch as the prelude reads it: [first seq, name, logical time, ...payloads]. */
export type BatchRun = [number, string, number, ...unknown[]];

/** The staged version's configuration, as JSON text (see StageConfig). */
export type StageConfigText = string;

/** What stage() is told about the version it prepares. */
export interface StageConfig {
  readonly mod: { readonly name: string; readonly version: string };
  readonly permissions: readonly string[];
  readonly maxBytes: number;
  readonly maxLogsPerCall: number;
}

/**
 * The host's log callback. Level "dropped" carries the count of lines the prelude dropped. `seq`
 * is the event that logged the line (-1 outside an event). Answers "drop" when the mod is over its
 * log rate: the prelude then drops the rest of the call's lines.
 */
export type LogBridge = (level: string, message: string, seq: number) => "drop" | undefined;

/**
 * The host's capability callback; `elapsedMs` is real time since the event began (for the host's
 * time budget). Answers a CapabilityReply as JSON text.
 */
export type CapabilityBridge = (seq: number, permission: string, argsJson: string, elapsedMs: number) => string;

/** What a capability call answers (JSON text of this). */
export type CapabilityReply =
  | { readonly ok: true; readonly value?: unknown }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      /** The refusal holds for the rest of the event: further calls fail without crossing. */
      readonly final?: boolean;
      /** The event's time ran out in this call: the event is stopped as a timeout. */
      readonly cut?: boolean;
    };

/** The prelude's API object: the completion value of the prelude script. */
export interface PreludeApi {
  /** Connects the host's bridges and seeds the random generator. Called once per isolate. */
  boot(log: LogBridge, capability: CapabilityBridge, seedJson: string): void;
  /** Prepares a version's world; its modules register their definition through `registerName`. */
  stage(configJson: StageConfigText, registerName: string): void;
  /** Checks what the staged entry module registered. */
  describe(): ReplyText<ShapeFields>;
  /** Makes the staged version live; the state object is handed over as it is. */
  activate(): void;
  /** Forgets the staged version. */
  abort(): void;
  /** Runs the staged version's migrate() on the live state; on success that version is live. */
  migrateInPlace(fromVersion: string, now: number): ReplyText<object>;
  /** Creates the first state with init() (or `{}`). */
  initState(now: number): ReplyText<object>;
  /** Runs migrate(old, fromVersion) and makes its result the state. */
  migrateState(oldJson: StateText, fromVersion: string, now: number): ReplyText<object>;
  /** The state and the random generator's position. */
  exportState(): ReplyText<SnapshotFields, StateText>;
  /** Replaces the state and the random generator's position. */
  importState(stateJson: StateText, rngJson: string): void;
  /**
   * Runs events of the batch until all are done or `sliceMs` has passed since the slice began.
   * `slice` numbers the call: collect() and sliceFinished() answer for that call only, so a call
   * stopped before it began (before it cleared the last slice's results) reports nothing done.
   */
  dispatch(batchJson: BatchText, sliceMs: number, slice: number): ReplyText<SliceFields, ResultListText>;
  /** "1" if dispatch call `slice` ran to its end (what stopped the call came after: late work). */
  sliceFinished(slice: number): "1" | "0";
  /** After a terminated dispatch call `slice`: the results of its events that finished before it. */
  collect(slice: number): ReplyText<SliceFields, ResultListText>;
}
