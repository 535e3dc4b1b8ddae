/**
 * The entry of the type-check worker thread: owns the warm `ModTypeChecker` (one language service
 * per mod), so that a pathological type blocks this thread only. The host stops the thread when a
 * check runs past its budget; anything this thread throws is answered as data.
 */
import { parentPort, workerData } from "node:worker_threads";
import { messageOf } from "../errors/modhost-error.js";
import { isStackOverflow } from "./source-limits.js";
import type { TypeCheckMessage, TypeCheckRequest, TypeCheckWorkerData } from "./type-check-protocol.js";
import { ModTypeChecker } from "./type-checker.js";

const port = parentPort;
if (port === null) throw new Error("type-check-worker.js runs only as a worker thread");
const data = workerData as TypeCheckWorkerData;
const send = (message: TypeCheckMessage): void => port.postMessage(message);

const checker = await ModTypeChecker.create({ extraTypeFiles: data.extraTypeFiles });
// Parse the libraries and the SDK before the first real check, so that a mod's budget pays for
// its own code only.
const WARM_UP = "\0warm-up";
checker.check(WARM_UP, new Map([["main.ts", "export default 1;\n"]]));
checker.forget(WARM_UP);
send({ kind: "ready" });

port.on("message", (request: TypeCheckRequest) => {
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
