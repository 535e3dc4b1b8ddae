import type { WebSocket } from "ws";

/**
 * Closes a WebSocket with `code` and resolves once it is closed; if the peer does not complete the
 * closing handshake within `timeoutMs`, the socket is terminated. Safe to call on a closed socket.
 */
export function closeSocket(socket: WebSocket, code: number, reason: string, timeoutMs = 2000): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), timeoutMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  });
}
