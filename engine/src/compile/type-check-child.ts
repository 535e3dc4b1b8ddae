/**
 * The entry of the type-check child process (compile/type-check-process.ts): owns the warm
 * `ModTypeChecker` (one language service per mod), so that a pathological type blocks or exhausts
 * this process only. The host stops it when a check runs past its budget; anything it throws is
 * answered as data. Its data comes as its one argument (JSON), its requests over the IPC channel.
 */
import { Worker } from "node:worker_threads";
import { messageOf } from "../errors/modhost-error.js";
import { isStackOverflow } from "./source-limits.js";
import type { TypeCheckMessage, TypeCheckRequest, TypeCheckChildData } from "./type-check-protocol.js";
import { ModTypeChecker } from "./type-checker.js";

const parentSend = process.send?.bind(process);
if (parentSend === undefined) throw new Error("type-check-child.js runs only as a child process with an IPC channel");
const data = JSON.parse(process.argv[2] ?? "{}") as TypeCheckChildData;
const send = (message: TypeCheckMessage): void => void parentSend(message);
// The host went away (it closed the channel or died): nothing is left to answer.
process.on("disconnect", () => process.exit(0));
// A check blocks this thread for as long as it runs (a pathological type: until its budget, which
// only a living host enforces). A host killed meanwhile must not leave this process checking: a
// small thread of its own sees the parent change (an orphan is adopted) and kills the process.
const orphanWatch = new Worker(
  `const { workerData } = require("node:worker_threads");
  setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, "SIGKILL"); }, 1000);`,
  { eval: true, workerData: process.ppid, resourceLimits: { maxOldGenerationSizeMb: 16 } },
);
orphanWatch.unref();

const checker = await ModTypeChecker.create({ extraTypeFiles: data.extraTypeFiles });
// Parse the libraries and the SDK before the first real check, so that a mod's budget pays for
// its own code only.
const WARM_UP = "\0warm-up";
checker.check(WARM_UP, new Map([["main.ts", "export default 1;\n"]]));
checker.forget(WARM_UP);
send({ kind: "ready" });

process.on("message", (request: TypeCheckRequest) => {
  try {
    send({ kind: "checked", id: request.id, diagnostics: checker.check(request.mod, new Map(request.files)) });
  } catch (err) {
    // The language service may be half-updated after a throw: the next check of this mod starts cold.
    checker.forget(request.mod);
    if (isStackOverflow(err)) {
      send({ kind: "failed", id: request.id, code: "E_SOURCE_TOO_COMPLEX", message: "the mod's types are nested too deeply to check (the type checker's stack overflowed); simplify them" });
    } else {
      send({ kind: "failed", id: request.id, code: "E_INTERNAL", message: `the type checker failed: ${messageOf(err)}` });
    }
  }
});
