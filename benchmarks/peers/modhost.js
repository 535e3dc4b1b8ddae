// modhost behind the same interface as the peers (create, emit, emitBatch, swap, state, close), for
// the families that run every runner through one loop (scale). `isolation`: "process" or "inline".
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createHost } from "../lib/failures.js";
import { makeModsDir } from "../lib/fixtures.js";
import { loadModhost } from "../lib/engine.js";

export class ModhostLoader {
  sync = false;

  constructor(host, mods) {
    this.host = host;
    this.modsDir = mods;
  }

  static async create(mods, { isolation = "process", options = {}, limits } = {}) {
    const { ModHost } = await loadModhost();
    // MODHOST_BENCH_PREDICTABLE_GC=1: process hosts run their sandbox with sandboxPredictableGc
    // (docs/benchmarks.md, finding 10).
    if (isolation === "process" && process.env.MODHOST_BENCH_PREDICTABLE_GC === "1") options = { sandboxPredictableGc: true, ...options };
    const dir = await makeModsDir(mods, { limits });
    try {
      return new ModhostLoader(await createHost(ModHost, { modsDir: dir.dir, isolation, typecheck: "off", ...options }), dir);
    } catch (err) {
      await dir.cleanup();
      throw err;
    }
  }

  emit(event, payload) {
    return this.host.emit(event, payload);
  }

  emitBatch(events) {
    return Promise.all(events.map(([event, payload]) => this.host.emit(event, payload)));
  }

  state(name) {
    return this.host.state(name);
  }

  async swap(name, source) {
    await writeFile(join(this.modsDir.dir, name, "main.ts"), source);
    const report = await this.host.reload(name);
    if (!report.ok) throw new Error(`swap failed: ${JSON.stringify(report.error)}`);
    return { pauseMs: report.pauseMs, totalMs: report.totalMs };
  }

  async close() {
    await this.host.close();
    await this.modsDir.cleanup();
  }
}
