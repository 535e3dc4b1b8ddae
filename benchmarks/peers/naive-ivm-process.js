// The naive isolated-vm loader behind a process boundary, built the cheapest way we know: one
// frame in and one frame out per batch. The host writes the batch's JSON once; the child hands
// that text as it is to every mod's `__dispatchBatch` and sends the mods' result texts back joined
// into one frame, which the host parses once. No checks, no journal, no recovery: it is a floor
// for what crossing a process costs the naive loader (the tick figures' "process" target), not a
// peer of the side-by-side tables. The child is naive-ivm-child.js.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { importEngineModule } from "../lib/engine.js";

/**
 * Frames on both pipes: modhost's own codec (a 4-byte little-endian byte length, then UTF-8; a
 * big frame joined once, when whole), the cheapest framing we have.
 */
export const { encodeFrame, FrameDecoder } = await importEngineModule("backends/framing.js");

export class NaiveIvmProcessLoader {
  static peer = "naive_ivm_process";
  sync = false;
  /** Replies awaited, in order (the child answers frames in the order they came). */
  #waiting = [];
  #child;
  #exited;
  /** The mods in load order, as the child answers them. */
  #mods = [];

  /** Starts the child and loads `mods` ({ name: typescriptSource }) there with `options` (limits). */
  static async create(mods, options = {}) {
    const loader = new NaiveIvmProcessLoader();
    await loader.#start(mods, options);
    return loader;
  }

  /** The child's pid, whose CPU counts with this process's (lib/machine.js processPidsOf). */
  childPids() {
    return [this.#child.pid];
  }

  async #start(mods, options) {
    const child = spawn(process.execPath, ["--no-node-snapshot", fileURLToPath(new URL("./naive-ivm-child.js", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
    this.#child = child;
    // "close", not "exit": after "exit" the last replies may still be unread on stdout.
    this.#exited = new Promise((resolve) => child.once("close", resolve));
    const replies = new FrameDecoder((text) => this.#waiting.shift()?.(text));
    child.stdout.on("data", (chunk) => replies.push(chunk));
    child.once("close", (code, signal) => {
      for (const answer of this.#waiting.splice(0)) answer(JSON.stringify({ error: `the child exited (${code ?? signal})` }));
    });
    const ready = JSON.parse(await this.#request(JSON.stringify({ mods, options: { limits: options.limits } })));
    if (ready.error !== undefined) throw new Error(`naive_ivm_process: ${ready.error}`);
    this.#mods = ready.mods;
  }

  #request(text) {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin.write(encodeFrame(text));
    });
  }

  /**
   * Many events at once (`[[event, payload], ...]`, every mod handling every event, as in the tick
   * benchmark): per event, the results of every mod, as PeerLoader.emitBatch answers.
   */
  async emitBatch(events) {
    const reply = JSON.parse(await this.#request(JSON.stringify(events)));
    if (!Array.isArray(reply)) throw new Error(`naive_ivm_process: ${reply.error}`);
    const out = events.map(() => []);
    for (let m = 0; m < reply.length; m++) {
      const name = this.#mods[m];
      const results = reply[m];
      for (let k = 0; k < results.length; k++) {
        const r = results[k];
        out[k].push(r.ok ? { mod: name, ok: true, value: r.value } : { mod: name, ok: false, error: { message: r.error } });
      }
    }
    return out;
  }

  async close() {
    this.#child.stdin.end();
    await this.#exited;
  }
}
