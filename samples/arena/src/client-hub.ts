import type { WebSocket } from "ws";
import type { ServerMessage } from "./protocol.js";

/** Sockets above this many buffered bytes skip tick snapshots until they catch up. */
const SLOW_CLIENT_BYTES = 256 * 1024;

/**
 * The connected players' sockets by player id: how the server and the capabilities reach them.
 * It does not own the sockets (the WebSocket server does); it only sends.
 */
export class ClientHub {
  readonly #sockets = new Map<string, WebSocket>();
  #sent = 0;

  add(id: string, socket: WebSocket): void {
    this.#sockets.set(id, socket);
  }

  remove(id: string): void {
    this.#sockets.delete(id);
  }

  /** Sends to one player; false when that player is not connected. */
  send(id: string, message: ServerMessage): boolean {
    const socket = this.#sockets.get(id);
    if (socket === undefined || socket.readyState !== socket.OPEN) return false;
    socket.send(JSON.stringify(message));
    this.#sent++;
    return true;
  }

  /** Sends to every player. */
  broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const socket of this.#sockets.values()) {
      if (socket.readyState !== socket.OPEN) continue;
      socket.send(text);
      this.#sent++;
    }
  }

  /** Is this player's socket keeping up (for optional traffic such as snapshots)? */
  keepingUp(id: string): boolean {
    const socket = this.#sockets.get(id);
    return socket !== undefined && socket.readyState === socket.OPEN && socket.bufferedAmount < SLOW_CLIENT_BYTES;
  }

  /** Messages sent so far. */
  get sent(): number {
    return this.#sent;
  }
}
