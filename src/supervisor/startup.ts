import { formatStartupBeacon, propulsionNudge } from "../agents/beacon.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import type { Nudger } from "../tmux/nudge.js";
import type { TmuxClient } from "../tmux/client.js";
import type { AgentId } from "../town/identity.js";
import { sleep } from "../util/sleep.js";

const BYPASS_DIALOG_TEXT = "Bypass Permissions mode";
const POLL_MS = 200;

export interface StartupTarget {
  readonly id: AgentId;
  readonly identity: string;
  readonly session: string;
  readonly runtime: ResolvedRuntime;
  /** `patrol` for a supervised start, `lifecycle-restart` after a requested restart (§13). */
  readonly topic: string;
}

export interface StartupDeps {
  readonly client: Pick<TmuxClient, "capturePane" | "sendKey">;
  readonly nudger: Pick<Nudger, "nudge">;
  /** Pause between the startup beacon and the propulsion nudge (the reference waits 2 s). */
  readonly betweenNudgesMs: number;
  readonly now: () => Date;
}

export type StartupOutcome = "ready" | "prompt-timeout";

/** A prompt line, ignoring the box-drawing border some TUIs draw around their input line. */
function showsPrompt(screen: string, prompt: string): boolean {
  const wanted = prompt.trim();
  return screen.split("\n").some((line) => line.replace(/^[\s│|┃]+/, "").startsWith(wanted));
}

/**
 * The reference's start-up sequence (§5.1, §15, B31, B118): wait for the agent's prompt, accepting
 * Claude's bypass-permissions dialog if it shows, settle, then the startup beacon and the role's
 * propulsion nudge. Runs per agent in the background: a slow agent delays only itself (I8). Aborted when
 * the agent dies or is replaced.
 */
export async function runStartup(
  target: StartupTarget,
  deps: StartupDeps,
  signal: AbortSignal,
): Promise<StartupOutcome> {
  const { runtime, session } = target;
  let outcome: StartupOutcome = "ready";
  if (runtime.readyPrompt !== null || runtime.bypassDialog) {
    const deadline = Date.now() + runtime.readyTimeoutMs;
    let dialogAccepted = false;
    outcome = "prompt-timeout";
    while (Date.now() < deadline) {
      signal.throwIfAborted();
      const screen = await deps.client.capturePane(session, 30, { signal });
      if (runtime.bypassDialog && !dialogAccepted && screen.includes(BYPASS_DIALOG_TEXT)) {
        await deps.client.sendKey(session, "Down", { signal });
        await sleep(POLL_MS, signal);
        await deps.client.sendKey(session, "Enter", { signal });
        dialogAccepted = true;
      } else if (runtime.readyPrompt !== null && showsPrompt(screen, runtime.readyPrompt)) {
        outcome = "ready";
        break;
      } else if (runtime.readyPrompt === null && dialogAccepted) {
        outcome = "ready";
        break;
      }
      await sleep(POLL_MS, signal);
    }
  }
  await sleep(runtime.startupDelayMs, signal);
  const beacon = formatStartupBeacon(
    { recipient: target.identity, sender: "daemon", topic: target.topic },
    deps.now(),
  );
  await deps.nudger.nudge(session, beacon, { signal });
  await sleep(deps.betweenNudgesMs, signal);
  await deps.nudger.nudge(session, propulsionNudge(target.id.role), { signal });
  return outcome;
}
