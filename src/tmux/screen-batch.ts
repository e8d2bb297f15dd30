import type { CallOptions, TmuxClient } from "./client.js";

interface Waiter {
  readonly resolve: (screen: string) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
}

/** How long a screen request waits for others to share its tmux call: short beside a 200 ms poll. */
const GATHER_MS = 10;

/**
 * captureScreen for many agents at once: requests made within GATHER_MS of each other are answered by ONE
 * captureScreens call. Start-up sequences look at their agent's screen every 200 ms each; 500 agents
 * starting together would otherwise make 2 500 tmux calls a second, each waking the server. If the batch
 * fails (a session went away in the meantime fails the whole chain), each screen is asked for alone, so
 * one vanished session costs the others nothing.
 */
export class ScreenBatcher {
  private readonly client: Pick<TmuxClient, "captureScreen" | "captureScreens" | "sendKey">;
  private waiting = new Map<string, Waiter[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(client: Pick<TmuxClient, "captureScreen" | "captureScreens" | "sendKey">) {
    this.client = client;
  }

  captureScreen(session: string, options: CallOptions = {}): Promise<string> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal?.reason as Error);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const waiter: Waiter = {
        resolve: (screen) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(screen);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
        signal,
      };
      const list = this.waiting.get(session);
      if (list === undefined) this.waiting.set(session, [waiter]);
      else list.push(waiter);
      this.timer ??= setTimeout(() => {
        void this.flush();
      }, GATHER_MS);
    });
  }

  sendKey(session: string, key: string, options: CallOptions = {}): Promise<void> {
    return this.client.sendKey(session, key, options);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = new Map();
    // Only screens someone still waits for.
    const sessions = [...batch].flatMap(([session, waiters]) =>
      waiters.some((w) => w.signal?.aborted !== true) ? [session] : [],
    );
    if (sessions.length === 0) return;
    let screens: Map<string, string> | undefined;
    try {
      screens = sessions.length === 1 ? undefined : await this.client.captureScreens(sessions);
    } catch {
      screens = undefined;
    }
    await Promise.all(
      sessions.map(async (session) => {
        const waiters = batch.get(session) ?? [];
        let screen = screens?.get(session);
        try {
          screen ??= await this.client.captureScreen(session);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const waiter of waiters) waiter.reject(failure);
          return;
        }
        for (const waiter of waiters) waiter.resolve(screen);
      }),
    );
  }
}
