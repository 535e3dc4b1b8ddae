/** What the console completes against: the server's mods and the events each handles. */
export interface CompletionData {
  readonly mods: readonly string[];
  /** Event names by mod. */
  readonly events: Readonly<Record<string, readonly string[]>>;
}

/** The console's commands, in the order `help` lists them. */
export const CONSOLE_COMMANDS = ["emit", "state", "versions", "status", "reload", "rollback", "approve", "logs", "help", "exit"] as const;

/** Commands whose first argument is a mod name. */
const MOD_COMMANDS = new Set(["state", "versions", "reload", "rollback", "approve", "logs"]);

/**
 * Completes a console line as node:readline's completer does: returns the candidates for the word
 * being typed, and that word. The first word completes to a command; after `emit`, to an event
 * any mod handles; after `--mod` (in emit), to the mods that handle that event; after a command
 * that takes a mod, to a mod name.
 */
export function completeConsoleLine(line: string, data: CompletionData): [string[], string] {
  const words = line.split(/\s+/);
  // Leading spaces give an empty first word; they do not count as a word.
  if (words[0] === "") words.shift();
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  const command = before[0];
  let pool: readonly string[];
  if (command === undefined) pool = CONSOLE_COMMANDS;
  else if (command === "emit") {
    const event = before[1];
    if (before.length === 1) pool = allEvents(data);
    else if (before.at(-1) === "--mod") pool = event === undefined ? data.mods : data.mods.filter((m) => data.events[m]?.includes(event) ?? false);
    else if (current.startsWith("-")) pool = ["--mod"];
    else pool = [];
  } else if (MOD_COMMANDS.has(command) && before.length === 1) pool = data.mods;
  else if (command === "rollback" && before.length === 2 && current.startsWith("-")) pool = ["--to"];
  else pool = [];
  const hits = pool.filter((candidate) => candidate.startsWith(current));
  return [[...new Set(hits)].sort(), current];
}

function allEvents(data: CompletionData): string[] {
  return [...new Set(Object.values(data.events).flat())].sort();
}
