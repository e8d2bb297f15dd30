/**
 * What an agent is doing, beside whether its process lives: the activity state `townd status` shows, with
 * where it was learnt and when. Hooks (Claude Code's own events) come first; the screen is read where
 * hooks are absent or quiet; the process stands behind `starting`, `failed-to-start` and `dead`.
 */

export const ACTIVITY_STATES = [
  "starting",
  "working",
  "idle",
  "awaiting-permission",
  "dialog",
  "needs-human",
  "rate-limited",
  "auth-required",
  "compacting",
  "failed-to-start",
  "dead",
] as const;
export type ActivityStateName = (typeof ACTIVITY_STATES)[number];

export type ActivitySource = "hook" | "statusline" | "screen" | "process";

/** Which usage limit walls a rate-limited agent. */
export type UsageLimitKind = "session" | "weekly" | "model" | "spend" | "unknown";

/** One reading of an agent's activity, from one source. */
export interface ActivityReading {
  readonly state: ActivityStateName;
  readonly source: ActivitySource;
  /** A short human-readable text: the tool and command waited on, the banner seen, the dialog… */
  readonly detail: string;
  /** For rate-limited: when the wall lifts (epoch ms), null when unknown (never invented). */
  readonly resetsAt?: number | null;
  /** For rate-limited: which limit. */
  readonly limit?: UsageLimitKind;
  /**
   * The reading only repeats its state, saying less about it than the reading before (Claude's
   * permission_prompt notification names the tool, its PermissionRequest named the command too): the same
   * state keeps the detail it had.
   */
  readonly repeatsState?: boolean;
}

/** An agent's activity as the daemon keeps it: the reading, since when it holds, when it was last seen. */
export interface Activity extends ActivityReading {
  /** When this state began (epoch ms): unchanged while readings repeat it. */
  readonly since: number;
  /** When a source last confirmed it (epoch ms). */
  readonly observedAt: number;
}

/** The JSON shape of `activity` in `status --json`. */
export interface ActivityJson {
  readonly state: ActivityStateName;
  readonly since: string;
  readonly source: ActivitySource;
  readonly observed_at: string;
  readonly detail: string;
  readonly resets_at: string | null;
  readonly limit: UsageLimitKind | null;
}

export function activityJson(activity: Activity): ActivityJson {
  return {
    state: activity.state,
    since: new Date(activity.since).toISOString(),
    source: activity.source,
    observed_at: new Date(activity.observedAt).toISOString(),
    detail: activity.detail,
    resets_at:
      activity.resetsAt === undefined || activity.resetsAt === null
        ? null
        : new Date(activity.resetsAt).toISOString(),
    limit: activity.state === "rate-limited" ? (activity.limit ?? "unknown") : null,
  };
}

/**
 * The next activity after a reading: the same state keeps its `since` (a repeat only refreshes
 * `observedAt`, and keeps the detail when the reading only repeats the state); a new state starts now.
 */
export function nextActivity(previous: Activity | undefined, reading: ActivityReading, at: number): Activity {
  const { repeatsState, ...said } = reading;
  if (previous !== undefined && previous.state === reading.state) {
    const detail = repeatsState === true ? previous.detail : said.detail;
    return { ...previous, ...said, detail, since: previous.since, observedAt: at };
  }
  return { ...said, since: at, observedAt: at };
}
