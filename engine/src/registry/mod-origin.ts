import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { atomicWrite } from "../persist/atomic-write.js";
import { KeyedMutex } from "../util/keyed-mutex.js";

/**
 * Where a version of a mod came from: its folder under modsDir, an admin deploy, or a signed
 * package from the registry (with the package, version and signing key). A folder or deploy whose
 * files are a verified signed package carries the package's fields too.
 */
export interface ModOrigin {
  readonly source: "folder" | "deploy" | "registry";
  readonly package?: string;
  readonly version?: string;
  readonly keyId?: string;
}

/** One line for people: "registry @studio/arena@1.2.0 key 0E7A29130A052B85". */
export function formatOrigin(origin: ModOrigin): string {
  if (origin.package === undefined) return origin.source;
  return `${origin.source} ${origin.package}@${origin.version ?? "?"} key ${origin.keyId ?? "?"}`;
}

const MAX_ENTRIES = 500;

/**
 * The origin of each version by its hash, kept in <dir>/origins.json so that `status` still says
 * where the live version came from after a restart. Small: the newest 500 versions.
 */
export class OriginStore {
  readonly #file: string | undefined;
  readonly #origins = new Map<string, ModOrigin>();
  /** Writes of origins.json, one at a time in call order (each writes the whole map as it was then). */
  readonly #writes = new KeyedMutex<"origins">();

  private constructor(file: string | undefined) {
    this.#file = file;
  }

  /** Opens the store in `dir` (memory only when undefined). */
  static async open(dir: string | undefined): Promise<OriginStore> {
    const store = new OriginStore(dir === undefined ? undefined : join(dir, "origins.json"));
    if (store.#file === undefined) return store;
    let text: string | undefined;
    try {
      text = await readFile(store.#file, "utf8");
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw new ModhostError("E_PERSIST_FAILED", `cannot read ${store.#file}: ${messageOf(err)}`, { file: store.#file });
    }
    if (text !== undefined) {
      try {
        for (const [hash, origin] of Object.entries(JSON.parse(text) as Record<string, ModOrigin>)) store.#origins.set(hash, origin);
      } catch {
        // Provenance is informative only: a damaged file starts over (every version then shows "folder").
        store.#origins.clear();
      }
    }
    return store;
  }

  /** The origin of version `hash` (a version never recorded came from its folder). */
  get(hash: string): ModOrigin {
    return this.#origins.get(hash) ?? { source: "folder" };
  }

  /** Records where version `hash` came from; durable when the promise resolves. */
  record(hash: string, origin: ModOrigin): Promise<void> {
    this.#origins.delete(hash);
    this.#origins.set(hash, origin);
    while (this.#origins.size > MAX_ENTRIES) this.#origins.delete(this.#origins.keys().next().value as string);
    const file = this.#file;
    if (file === undefined) return Promise.resolve();
    const text = `${JSON.stringify(Object.fromEntries(this.#origins), null, 2)}\n`;
    return this.#writes.run("origins", async () => {
      await mkdir(join(file, ".."), { recursive: true });
      await atomicWrite(file, text);
    });
  }
}
