/**
 * Declarations of the globals the sandbox's prelude adds to the ES2023 built-ins, which every
 * type-checked mod sees. Only `console` exists: the prelude routes it to the host's log. Nothing
 * else is declared on purpose (no DOM, no Node): `process`, `setTimeout` or `require` do not
 * exist inside an isolate, so using them must be a type error rather than a runtime surprise.
 * Keep in step with `engine/runtime/prelude.ts`.
 */
export const MOD_GLOBALS_DTS = `/** The sandbox's console: each call writes one line to the host's log. */
interface ModConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
declare var console: ModConsole;
`;
