import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { TmuxClient } from "../../src/tmux/client.js";
import { waitFor } from "../../src/util/sleep.js";
import { makeTempDir } from "./tmp.js";

export interface PrivateTmux {
  /** Socket path inside `dir`: the developer's default tmux server is never addressed. */
  socket: string;
  client: TmuxClient;
  dir: string;
  cleanup(): Promise<void>;
}

function envWithoutTmux(): NodeJS.ProcessEnv {
  const { TMUX: _tmux, TMUX_PANE: _pane, ...rest } = process.env;
  return rest;
}

/**
 * `false` when tmux runs here, else the reason to skip. Under CI a missing tmux throws instead, so the
 * suite cannot pass by running nothing.
 */
export async function tmuxSkipReason(): Promise<string | false> {
  try {
    await new TmuxClient({ socket: "/nonexistent/unused" }).version();
    return false;
  } catch (error) {
    const reason = `tmux is not usable: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env.CI === "true") throw new Error(`${reason} (required when CI=true)`);
    return reason;
  }
}

/**
 * A tmux server of the test's own, on a socket in a fresh short temp dir, with townd's settings
 * (`ensureServer`) applied. `cleanup` kills it and removes the dir; an exit handler does the same if the
 * test process dies before `cleanup` runs.
 */
export async function startPrivateTmux(options: { paneDiedHook?: string } = {}): Promise<PrivateTmux> {
  const temp = makeTempDir("tdt-");
  const socket = join(temp.dir, "tmux.sock");
  const client = new TmuxClient({ socket, timeoutMs: 10_000 });
  const onExit = (): void => {
    try {
      execFileSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore", env: envWithoutTmux() });
    } catch {
      // No server left to kill.
    }
    temp.cleanup();
  };
  process.on("exit", onExit);
  const cleanup = async (): Promise<void> => {
    process.off("exit", onExit);
    try {
      await client.killServer();
    } finally {
      temp.cleanup();
    }
  };
  try {
    await client.ensureServer(options);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { socket, client, dir: temp.dir, cleanup };
}

/** Polls the pane until its recent output contains `text`; returns that capture, or throws with the last. */
export async function waitForPaneText(
  client: TmuxClient,
  session: string,
  text: string,
  timeoutMs: number,
): Promise<string> {
  let last = "";
  const found = await waitFor(
    async () => {
      last = await client.capturePane(session, 200);
      return last.includes(text) ? last : undefined;
    },
    { timeoutMs, intervalMs: 25 },
  );
  if (found === undefined) {
    throw new Error(
      `Pane of session "${session}" did not show ${JSON.stringify(text)} within ${timeoutMs} ms:\n${last}`,
    );
  }
  return found;
}
