import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** How the crafted registry answers one path. */
export interface CraftedAnswer {
  body: Buffer;
  status?: number;
  contentType?: string;
  /** Wait this long before answering (a slow registry). */
  delayMs?: number;
  /** Send only this many bytes of the body, then cut the connection. */
  cutAfter?: number;
  /** Honour If-None-Match with 304 (default true for packuments). */
  etag?: boolean;
}

/** A version for packument(): its tarball and, optionally, a lying integrity. */
export interface CraftedVersion {
  readonly version: string;
  readonly tarball: Buffer;
  readonly integrity?: string;
  /** Where dist.tarball points (default: this server). */
  readonly tarballUrl?: string;
}

/**
 * A small registry that answers what a test tells it to, for what a real registry would not do:
 * tampered tarballs, lying integrity, tags moved back, 5xx, malformed packuments, slow answers.
 */
export class CraftedRegistry {
  readonly #server: Server;
  readonly #answers = new Map<string, CraftedAnswer>();
  readonly #sockets = new Set<Socket>();
  readonly requests: { path: string; headers: IncomingHttpHeaders; status: number }[] = [];
  url = "";

  private constructor() {
    this.#server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/");
      const answer = this.#answers.get(path);
      const record = (status: number): void => {
        this.requests.push({ path, headers: req.headers, status });
      };
      if (answer === undefined) {
        record(404);
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
        return;
      }
      const send = (): void => this.#send(answer, req.headers, res, record);
      if (answer.delayMs !== undefined) setTimeout(send, answer.delayMs).unref();
      else send();
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<CraftedRegistry> {
    const registry = new CraftedRegistry();
    await new Promise<void>((resolve) => registry.#server.listen(0, "127.0.0.1", resolve));
    registry.url = `http://127.0.0.1:${(registry.#server.address() as AddressInfo).port}/`;
    return registry;
  }

  #send(answer: CraftedAnswer, headers: IncomingHttpHeaders, res: ServerResponse, record: (status: number) => void): void {
    if (res.destroyed) return;
    const etag = `"${createHash("sha1").update(answer.body).digest("hex")}"`;
    if (answer.etag !== false && headers["if-none-match"] === etag && (answer.status ?? 200) === 200) {
      record(304);
      res.writeHead(304, { etag }).end();
      return;
    }
    const status = answer.status ?? 200;
    record(status);
    res.writeHead(status, { "content-type": answer.contentType ?? "application/json", "content-length": answer.body.length, ...(answer.etag !== false ? { etag } : {}) });
    if (answer.cutAfter !== undefined) {
      res.write(answer.body.subarray(0, answer.cutAfter), () => res.destroy());
      return;
    }
    res.end(answer.body);
  }

  /** Answers `path` (e.g. "/@studio/counter") with `answer`. */
  set(path: string, answer: CraftedAnswer): void {
    this.#answers.set(path, answer);
  }

  /** The tarball path of `name@version` on this server. */
  tarballPath(name: string, version: string): string {
    return `/${name}/-/${name.split("/").pop() ?? name}-${version}.tgz`;
  }

  /** Publishes `versions` of `name` with `tags`: a packument and the tarballs, as a registry would. */
  publish(name: string, versions: readonly CraftedVersion[], tags: Record<string, string>, extra: Partial<CraftedAnswer> = {}): void {
    const entries: Record<string, unknown> = {};
    for (const v of versions) {
      const path = this.tarballPath(name, v.version);
      this.set(path, { body: v.tarball, contentType: "application/octet-stream", etag: false });
      const integrity = v.integrity ?? `sha512-${createHash("sha512").update(v.tarball).digest("base64")}`;
      entries[v.version] = { name, version: v.version, dist: { tarball: v.tarballUrl ?? new URL(path.slice(1), this.url).href, integrity } };
    }
    this.set(`/${name}`, { body: Buffer.from(JSON.stringify({ name, "dist-tags": tags, versions: entries })), ...extra });
  }

  /** Requests made for `path` (optionally only those answered with `status`). */
  count(path: string, status?: number): number {
    return this.requests.filter((r) => r.path === path && (status === undefined || r.status === status)).length;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
