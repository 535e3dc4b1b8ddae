import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { SandboxProcess } from "./sandbox-process.js";
import { readReply, type ReplyOf, type RequestBody, type RequestOf, type RequestOp, type SandboxReply, type SandboxRequest } from "./sandbox-protocol.js";
import { encodeRequestFrame } from "./request-frame.js";
import type { WatchedRequest } from "./request-watchdog.js";

/** What a request gets when the sandbox process died before answering it. */
export interface Crashed {
  readonly t: "crash";
  /** Was this request the one running (its mod is the culprit), or merely waiting? */
  readonly culprit: boolean;
}

/** A request sent (or about to be) and not yet answered. */
export interface Pending extends WatchedRequest {
  readonly request: RequestOf<RequestOp>;
  /** Reads the reply as its request's kind and settles the caller; throws E_SANDBOX_PROTOCOL. */
  readonly settle: (reply: { readonly value: unknown } | Crashed) => void;
}

/** What the queue needs of its backend. */
export interface RequestQueueSide {
  /** The live sandbox process, if there is one. */
  child(): SandboxProcess | undefined;
  /** The queue went from empty to one request: the watchdog starts watching it. */
  armWatchdog(): void;
}

/**
 * The process backend's unanswered requests, in the order they were made. The requests made in
 * one turn of the event loop go to the live process as one frame; its replies settle them
 * strictly in that order. Owned by ProcessBackend, which empties it when the process dies.
 */
export class RequestQueue {
  readonly #side: RequestQueueSide;
  #pending: Pending[] = [];
  #outbox: SandboxRequest[] = [];
  /** The pending entries of the outbox's requests, in the same order. */
  #unsent: Pending[] = [];
  #flushScheduled = false;
  #nextId = 1;
  /** Request frames sent and reply frames read, for diagnostics and tests. */
  readonly #frames = { sent: 0, received: 0 };

  constructor(side: RequestQueueSide) {
    this.#side = side;
  }

  /** Request frames sent to and reply frames read from the sandbox processes so far. */
  get frames(): { readonly sent: number; readonly received: number } {
    return { ...this.#frames };
  }

  /** The oldest unanswered request (the one the process runs first). */
  get head(): Pending | undefined {
    return this.#pending[0];
  }

  /** The unanswered request with this id, if any. */
  byId(id: number): Pending | undefined {
    return this.#pending.find((p) => p.request.id === id);
  }

  /** Queues a request of kind `op`; resolves with the reply the protocol map gives it, or a crash. */
  request<K extends RequestOp>(op: K, body: RequestBody<K>, budgetMs: number): Promise<ReplyOf<K> | Crashed> {
    const request: RequestOf<K> = { op, id: this.#nextId++, body };
    return new Promise((resolve) => {
      const settle = (reply: { readonly value: unknown } | Crashed): void => resolve("t" in reply ? reply : readReply(op, reply.value));
      const pending: Pending = { request, budgetMs, capabilityMs: 0, creditedMs: 0, sentAt: undefined, settle };
      this.#pending.push(pending);
      // RequestOf<K> for one K is a member of the union the frame encoder switches on.
      this.#outbox.push(request as SandboxRequest);
      this.#unsent.push(pending);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Requests made in the same turn of the event loop travel in one frame.
        setImmediate(() => this.flush());
      }
      if (this.#pending.length === 1) this.#side.armWatchdog();
    });
  }

  /** Sends the queued requests to the live process as one frame (if it is up). */
  flush(): void {
    this.#flushScheduled = false;
    const child = this.#side.child();
    if (child === undefined || child.exited || this.#outbox.length === 0) return;
    const batch = this.#outbox;
    const sent = this.#unsent;
    this.#outbox = [];
    this.#unsent = [];
    this.#frames.sent++;
    child.send(encodeRequestFrame(batch));
    const now = performance.now();
    for (let i = 0; i < sent.length; i++) (sent[i] as Pending).sentAt = now;
  }

  /** Counts a reply frame read from the live process. */
  frameReceived(): void {
    this.#frames.received++;
  }

  /**
   * Settles the head request with its reply and returns it; throws E_SANDBOX_PROTOCOL (nothing
   * settled) when the reply is not the head's or does not fit its kind.
   */
  settleHead(reply: SandboxReply): Pending {
    const head = this.#pending[0];
    if (head === undefined || head.request.id !== reply.id) {
      // Replies come strictly in order: any other means the protocol is broken.
      throw new ModhostError("E_SANDBOX_PROTOCOL", `the sandbox process answered request ${reply.id} when ${head === undefined ? "none" : head.request.id} was due`);
    }
    head.settle({ value: reply.value });
    this.#pending.shift();
    return head;
  }

  /** Takes every unanswered request (the caller settles them) and drops what was not sent yet. */
  takeAll(): Pending[] {
    const pending = this.#pending;
    this.#pending = [];
    this.#outbox = [];
    return pending;
  }
}

/** Did the process die before answering? */
export function isCrash<T>(reply: T | Crashed): reply is Crashed {
  return typeof reply === "object" && reply !== null && "t" in reply && reply.t === "crash";
}
