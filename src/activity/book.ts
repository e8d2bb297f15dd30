import { IDLE_PROMPT_DETAIL } from "./hooks/states.js";
import { nextActivity, type Activity, type ActivityReading, type ActivitySource } from "./state.js";

/** A state change worth an `activity` event: what the agent was doing, what it does now, and why we think so. */
export interface ActivityChange {
  readonly identity: string;
  readonly generation: string | null;
  readonly from: Activity | undefined;
  readonly to: Activity;
}

/** A hook state older than this no longer speaks for the agent: its screen is read again. */
export const HOOK_FRESH_MS = 120_000;

interface Entry {
  readonly generation: string | null;
  readonly activity: Activity;
  /** When the last hook event of this generation arrived (epoch ms), null when none has. */
  readonly lastHookAt: number | null;
}

/**
 * Each agent's current activity, one generation at a time: a reading about an older generation is
 * dropped (its process is gone), and a new generation starts with no activity at all. Pure bookkeeping:
 * the daemon feeds it readings (hooks as they arrive, screens and the process once per pass).
 */
export class ActivityBook {
  private readonly entries = new Map<string, Entry>();

  get(identity: string): Activity | undefined {
    return this.entries.get(identity)?.activity;
  }

  /** When the agent's current generation last fired a hook, or null. */
  lastHookAt(identity: string, generation: string | null): number | null {
    const entry = this.entries.get(identity);
    return entry !== undefined && entry.generation === generation ? entry.lastHookAt : null;
  }

  /** Whether a hook reading is recent enough that the screen need not be read. */
  hookFresh(identity: string, generation: string | null, now: number): boolean {
    const at = this.lastHookAt(identity, generation);
    return at !== null && now - at < HOOK_FRESH_MS;
  }

  /**
   * Records a reading for `generation`. Readings for an older generation than the one recorded are
   * ignored; a newer generation replaces the entry. Returns the change when the state changed.
   */
  note(
    identity: string,
    generation: string | null,
    reading: ActivityReading,
    at: number,
  ): ActivityChange | null {
    const entry = this.entries.get(identity);
    const sameGeneration = entry !== undefined && entry.generation === generation;
    const previous = sameGeneration ? entry.activity : undefined;
    // A screen or process reading must not overwrite a fresh hook reading of a different state.
    if (
      previous !== undefined &&
      reading.source !== "hook" &&
      previous.source === "hook" &&
      !overridesHooks(reading.source, reading.state) &&
      entry?.lastHookAt != null &&
      at - entry.lastHookAt < HOOK_FRESH_MS
    ) {
      return null;
    }
    if (previous !== undefined && entry !== undefined && idleReminder(previous, reading)) {
      // Still walled or logged out: the reminder proves the hooks live, nothing more.
      this.entries.set(identity, { ...entry, activity: { ...previous, observedAt: at }, lastHookAt: at });
      return null;
    }
    const activity = nextActivity(previous, reading, at);
    const lastHookAt = reading.source === "hook" ? at : sameGeneration ? entry.lastHookAt : null;
    this.entries.set(identity, { generation, activity, lastHookAt });
    // A new generation in the same state (starting again) is no change worth an event either.
    if (entry !== undefined && entry.activity.state === activity.state) return null;
    return { identity, generation, from: entry?.activity, to: activity };
  }

  /**
   * Forgets what the process said (starting, dead) of an agent that now runs and whose activity nothing
   * else reads (no screen profile, no hooks): its start-up is over, and its activity is simply unknown.
   */
  forgetProcessReading(identity: string): void {
    if (this.entries.get(identity)?.activity.source === "process") this.entries.delete(identity);
  }

  /** Forgets agents that are no longer supervised. */
  retain(identities: ReadonlySet<string>): void {
    for (const identity of [...this.entries.keys()])
      if (!identities.has(identity)) this.entries.delete(identity);
  }
}

/**
 * The process's verdicts that outrank what a hook of the same generation said: it died, or never started.
 * "Starting" does not: once the agent fires hooks during its start-up, they say more.
 */
function overridesHooks(source: ActivitySource, state: ActivityReading["state"]): boolean {
  return source === "process" && (state === "dead" || state === "failed-to-start");
}

/**
 * Claude's `idle_prompt` notification fires a minute after any turn ends, the failed one of a logged-out or
 * walled agent too: it does not lift the wall or log the agent in. Only a new turn, a new session or a
 * login (auth_success) does.
 */
function idleReminder(previous: Activity, reading: ActivityReading): boolean {
  return (
    (previous.state === "auth-required" || previous.state === "rate-limited") &&
    reading.source === "hook" &&
    reading.state === "idle" &&
    reading.detail === IDLE_PROMPT_DETAIL
  );
}
