import { connect } from "node:net";

/**
 * Does a server listen on this Unix socket? A connect, not a tmux command: it answers even when the server
 * is stuck (it still accepts), and a missing server refuses at once. Bounded by `timeoutMs`.
 */
export function serverListening(socket: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    const done = (listening: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(listening);
    };
    const timer = setTimeout(() => {
      done(true);
    }, timeoutMs);
    probe.once("connect", () => {
      done(true);
    });
    probe.once("error", () => {
      done(false);
    });
  });
}
