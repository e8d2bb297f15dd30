import { ActivityBook, type ActivityChange } from "../activity/book.js";
import { CONFIRM_GAP_MS, confirmReading, type Glimpse } from "../activity/confirm.js";
import type { RuntimeProfile } from "../activity/profiles.js";
import { ScreenProgress } from "../activity/progress.js";
import { parseScreen, type Screen } from "../activity/screen.js";
import { activityJson, type Activity, type ActivityJson, type ActivityReading } from "../activity/state.js";
import type { TmuxClient } from "../tmux/client.js";
import type { ObservedAgent } from "./observe.js";

/** The reading of a live screen that shows nothing its profile knows: the agent's activity cannot be read. */
export const UNREADABLE_SCREEN = "alive; its screen shows nothing townd can read";

/** When a new state awaits its second look, the daemon looks again this soon. */
export const SCREEN_RECHECK_MS = 500;

/**
 * An unreadable screen lets the heartbeat watchdog judge the agent, and kill it when its heartbeat is very
 * stale: it must stay unreadable this long, not for the second a nudge's text sits typed but unsent on the
 * input line of an idle agent (which the screen does not read as idle).
 */
export const UNREADABLE_CONFIRM_MS = 5000;

/** What the tracker needs to know of one agent in a pass, beside its observation. */
export interface TrackedAgent {
  readonly observed: ObservedAgent;
  /** The supervision state `status` shows (running, starting, needs-human, failed-to-start, backoff…). */
  readonly state: string;
  /** Why a person is needed, or why it failed to start. */
  readonly detail: string | null;
  /** The profile its screen is read with; null when its runtime cannot be resolved. */
  readonly profile: RuntimeProfile | null;
}

export type ScreenClassifier = (
  screen: Screen,
  profile: RuntimeProfile,
  seenAt: number,
) => ActivityReading | null;

export interface ActivityTrackerDeps {
  readonly client: Pick<TmuxClient, "captureScreens">;
  readonly classify: ScreenClassifier;
  readonly now: () => number;
  /** Every change of state, for the `activity` event. */
  readonly onChange: (change: ActivityChange) => void;
  /** The statusline's usage-window wall for a live agent, if any (a structured source: beats the screen). */
  readonly statuslineWall?: (agent: TrackedAgent, now: number) => ActivityReading | null;
}

/**
 * Keeps each agent's activity: the process decides `starting`, `needs-human`, `failed-to-start` and
 * `dead`; for a live agent, its hooks decide while they are fresh, and its screen is read otherwise — every
 * such screen in one tmux call per pass, a new state believed only on a second look (I9: one glimpse of a
 * flashing prompt must never move an agent).
 */
export class ActivityTracker {
  readonly book = new ActivityBook();
  /** When each read screen last changed beyond its spinner: progress, for the stuck ladder. */
  readonly screens = new ScreenProgress();
  private readonly deps: ActivityTrackerDeps;
  /** A screen state seen once, waiting for its second look (by generation: a new process starts over). */
  private readonly pending = new Map<string, { generation: string | null; glimpse: Glimpse }>();

  constructor(deps: ActivityTrackerDeps) {
    this.deps = deps;
  }

  activity(identity: string): Activity | undefined {
    return this.book.get(identity);
  }

  json(identity: string): ActivityJson | null {
    const activity = this.book.get(identity);
    return activity === undefined ? null : activityJson(activity);
  }

  /** A hook reading, as it arrives (not once per pass): applied at once. */
  noteHook(identity: string, generation: string, reading: ActivityReading): void {
    this.pending.delete(identity);
    this.apply(identity, generation, reading, this.deps.now());
  }

  /**
   * One pass: the process's verdicts, then the screens of live agents whose hooks are quiet. Returns when
   * to look again, when a new screen state awaits confirmation.
   */
  async observe(agents: readonly TrackedAgent[], signal: AbortSignal): Promise<{ wakeAt: number | null }> {
    const now = this.deps.now();
    const present = new Set(agents.map((a) => a.observed.desired.identity));
    this.book.retain(present);
    this.screens.retain(present);
    const toRead: TrackedAgent[] = [];
    for (const agent of agents) {
      const identity = agent.observed.desired.identity;
      const generation = agent.observed.generation;
      const process = processReading(agent);
      const wall = process === null ? (this.deps.statuslineWall?.(agent, now) ?? null) : null;
      if (process !== null) {
        this.pending.delete(identity);
        this.apply(identity, generation, process, now);
      } else if (wall !== null) {
        this.pending.delete(identity);
        this.apply(identity, generation, wall, now);
      } else if (agent.profile === null) {
        this.book.forgetProcessReading(identity);
      } else if (!this.book.hookFresh(identity, generation, now)) {
        toRead.push(agent);
      }
    }
    let wakeAt: number | null = null;
    const screens = await this.capture(toRead, signal);
    for (const agent of toRead) {
      const identity = agent.observed.desired.identity;
      const captured = screens.get(agent.observed.desired.session);
      if (captured === undefined || agent.profile === null) continue;
      const screen = parseScreen(captured);
      this.screens.note(identity, agent.observed.generation, screen, now);
      const reading = this.deps.classify(screen, agent.profile, now) ?? {
        state: "working",
        source: "screen",
        detail: UNREADABLE_SCREEN,
      };
      if (this.confirmed(identity, agent.observed.generation, reading, now)) {
        this.apply(identity, agent.observed.generation, reading, now);
      } else {
        const recheck = isUnreadable(reading) ? UNREADABLE_CONFIRM_MS : SCREEN_RECHECK_MS;
        wakeAt = Math.min(wakeAt ?? Infinity, now + recheck);
      }
    }
    return { wakeAt };
  }

  private async capture(agents: readonly TrackedAgent[], signal: AbortSignal): Promise<Map<string, string>> {
    const sessions = agents.map((a) => a.observed.desired.session);
    if (sessions.length === 0) return new Map();
    try {
      return await this.deps.client.captureScreens(sessions, { signal });
    } catch {
      // A session that went away mid-pass fails the batch: the next pass reads the rest.
      return new Map();
    }
  }

  /**
   * A reading of the current state needs no second look; a new state needs two, far enough apart (an
   * unreadable screen counts as a state of its own here, confirmed only over UNREADABLE_CONFIRM_MS).
   */
  private confirmed(
    identity: string,
    generation: string | null,
    reading: ActivityReading,
    at: number,
  ): boolean {
    const unreadable = isUnreadable(reading);
    const current = this.book.get(identity);
    if (current?.state === reading.state && isUnreadable(current) === unreadable) {
      this.pending.delete(identity);
      return true;
    }
    const seen = this.pending.get(identity);
    const previous =
      seen !== undefined &&
      seen.generation === generation &&
      isUnreadable(seen.glimpse.reading) === unreadable
        ? seen.glimpse
        : null;
    const gap = unreadable ? UNREADABLE_CONFIRM_MS : CONFIRM_GAP_MS;
    const { confirmed, pending } = confirmReading(previous, reading, at, gap);
    if (confirmed !== null || pending === null) this.pending.delete(identity);
    else this.pending.set(identity, { generation, glimpse: pending });
    return confirmed !== null;
  }

  private apply(identity: string, generation: string | null, reading: ActivityReading, at: number): void {
    const change = this.book.note(identity, generation, reading, at);
    if (change !== null) this.deps.onChange(change);
  }
}

function isUnreadable(reading: ActivityReading): boolean {
  return reading.source === "screen" && reading.detail === UNREADABLE_SCREEN;
}

/** What the process alone says; null for a live agent, whose hooks or screen say more. */
function processReading(agent: TrackedAgent): ActivityReading | null {
  const detail = agent.detail ?? "";
  switch (agent.state) {
    case "running":
      return null;
    case "starting":
      return { state: "starting", source: "process", detail: "start-up sequence running" };
    case "needs-human":
      return { state: "needs-human", source: "screen", detail };
    case "failed-to-start":
      return { state: "failed-to-start", source: "process", detail };
    default:
      return agent.observed.verdict === "alive"
        ? null
        : { state: "dead", source: "process", detail: `${agent.state}: ${agent.observed.verdictReason}` };
  }
}
