import { formatDuration } from "../util/duration.js";
import type {
  ActivityView,
  ConductAct,
  ConductAgent,
  ConductAlert,
  ConductLimits,
  WallGroup,
  WallMemory,
} from "./types.js";

/**
 * Usage-limit walls (agent-states.md §3(c)). A walled agent is never killed or restarted; its exits while
 * walled are no deaths. After the reset plus a skew it is woken (one agent at a time, a stagger apart), by
 * the runtime's own way out; a wake that does not get it working is retried, re-armed with a new reset
 * when one shows, and escalated once after `maxWakes`. Agents walled within `groupWindowMs` of each other
 * are one wall: one alert when it starts, one when it lifts.
 */

/** An agent out of its wall this long has left it (a failed wake is back at the banner within seconds). */
export const LIFT_CONFIRM_MS = 20_000;

/** The nudge that resumes a walled agent's work after its limit reset. */
export const WALL_CONTINUATION =
  "Your usage limit has reset. Continue the work you were doing when the limit was reached.";

export interface WallStep {
  readonly memory: WallMemory | null;
  readonly act?: ConductAct;
  /** For a dead walled agent: no respawn (and no death counted) before `until`. */
  readonly hold?: { readonly until: number; readonly reason: string };
  /** What `why` says about the wall. */
  readonly note?: string;
  /** When this agent's wall next needs a look. */
  readonly recheckAt?: number;
  readonly alert?: ConductAlert;
}

/** The town's walls during one pass: groups, wake slots, and the alerts they raise. Local to a pass. */
export class WallDesk {
  private groups: WallGroup[];
  private nextGroup: number;
  private lastSlot: number | null;
  private readonly lifted = new Set<number>();
  readonly alerts: ConductAlert[] = [];
  private readonly limits: ConductLimits["wall"];
  private readonly formatTime: (at: number) => string;

  constructor(
    state: { walls: readonly WallGroup[]; nextGroup: number; lastWakeSlot: number | null },
    limits: ConductLimits["wall"],
    formatTime: (at: number) => string,
  ) {
    this.limits = limits;
    this.formatTime = formatTime;
    this.groups = [...state.walls];
    this.nextGroup = state.nextGroup;
    this.lastSlot = state.lastWakeSlot;
  }

  /** The group an agent walled at `since` joins: one started within the window, or a new one. */
  join(identity: string, since: number, resetsAt: number | null): number {
    const group = this.groups.find((g) => Math.abs(since - g.startedAt) <= this.limits.groupWindowMs);
    if (group !== undefined) {
      this.replace({
        ...group,
        identities: [...group.identities.filter((i) => i !== identity), identity],
        walled: [...group.walled.filter((i) => i !== identity), identity],
        resetsAt: earliestKnown(group.resetsAt, resetsAt),
      });
      return group.id;
    }
    const id = this.nextGroup;
    this.nextGroup += 1;
    this.groups.push({
      id,
      startedAt: since,
      identities: [identity],
      walled: [identity],
      resetsAt,
      alerted: false,
    });
    return id;
  }

  /** An agent out of its wall: the group lifts when its last agent is out. */
  leave(identity: string, groupId: number): void {
    const group = this.groups.find((g) => g.id === groupId);
    if (group === undefined) return;
    const identities = group.identities.filter((i) => i !== identity);
    if (identities.length > 0) {
      this.replace({ ...group, identities });
      return;
    }
    this.groups = this.groups.filter((g) => g.id !== groupId);
    if (group.alerted && !this.lifted.has(groupId)) {
      this.lifted.add(groupId);
      this.alerts.push({
        kind: "usage_limit_lifted",
        message: `usage limit lifted: ${group.walled.length === 1 ? (group.walled[0] ?? "") : `${group.walled.length} agents`} working again`,
        identities: group.walled,
      });
    }
  }

  /** The wake time for an agent: not before `earliest`, and a stagger after the last one handed out. */
  slot(earliest: number): number {
    const at = this.lastSlot === null ? earliest : Math.max(earliest, this.lastSlot + this.limits.staggerMs);
    this.lastSlot = at;
    return at;
  }

  /**
   * After every agent has been seen: groups whose window has closed raise their one alert; groups whose
   * agents are all gone from the town are dropped. Returns when an open window closes.
   */
  close(now: number, present: ReadonlySet<string>): number | null {
    let wake: number | null = null;
    this.groups = this.groups.flatMap((group) => {
      const identities = group.identities.filter((i) => present.has(i));
      if (identities.length === 0) return [];
      const closesAt = group.startedAt + this.limits.groupWindowMs;
      if (group.alerted || now < closesAt) {
        if (!group.alerted) wake = wake === null ? closesAt : Math.min(wake, closesAt);
        return [{ ...group, identities }];
      }
      const until =
        group.resetsAt === null
          ? `reset time unknown, retrying every ${formatDuration(this.limits.unknownRetryMs)}`
          : `until ${this.formatTime(group.resetsAt)}`;
      const count = identities.length === 1 ? (identities[0] ?? "") : `${identities.length} agents`;
      this.alerts.push({ kind: "usage_limit", message: `usage limit: ${count} ${until}`, identities });
      return [{ ...group, identities, alerted: true }];
    });
    return wake;
  }

  state(): { walls: WallGroup[]; nextGroup: number; lastWakeSlot: number | null } {
    return { walls: this.groups, nextGroup: this.nextGroup, lastWakeSlot: this.lastSlot };
  }

  private replace(group: WallGroup): void {
    this.groups = this.groups.map((g) => (g.id === group.id ? group : g));
  }
}

/** One agent's wall this pass. */
export function conductWall(
  agent: ConductAgent,
  memory: WallMemory | null,
  desk: WallDesk,
  limits: ConductLimits["wall"],
  now: number,
  formatTime: (at: number) => string,
): WallStep {
  const activity = agent.activity;
  if (agent.verdict !== "alive") {
    // An agent that exits at its wall before a pass saw it walled (a headless CLI quits on the limit)
    // still said so last: its hooks' rate-limited is what the daemon knows when it finds the pane dead.
    const walled =
      memory ??
      (activity?.state === "rate-limited" ? openWall(agent.identity, activity, desk, limits) : null);
    if (walled === null) return { memory };
    // Exits while walled are no deaths: the agent comes back at its wake, not before.
    return {
      memory: walled,
      hold: {
        until: walled.wakeAt,
        reason: `usage limit (${wallText(walled, formatTime)}): back at ${formatTime(walled.wakeAt)}`,
      },
    };
  }
  if (activity?.state !== "rate-limited") {
    // A new generation still starting says nothing yet; any other state held for LIFT_CONFIRM_MS means the
    // wall is behind it. Not at once: a wake's prompt reads as working until Claude answers it with the
    // banner again, and a wall that lifted and re-formed in between would be alerted twice.
    if (
      memory !== null &&
      activity !== undefined &&
      activity.state !== "starting" &&
      activity.state !== "dead"
    ) {
      // Out since it first left, whatever it did since (a turn flips working and idle every few seconds).
      const outSince = memory.outSince ?? Math.min(activity.since, now);
      const liftsAt = outSince + LIFT_CONFIRM_MS;
      if (now < liftsAt)
        return {
          memory: { ...memory, outSince },
          note: `usage limit: ${activity.state} again, confirming`,
          recheckAt: liftsAt,
        };
      desk.leave(agent.identity, memory.group);
      return { memory: null };
    }
    return { memory };
  }

  // Walled (again): any spell out of the wall is over.
  let wall = memory === null || memory.outSince == null ? memory : { ...memory, outSince: null };
  if (wall === null) {
    wall = openWall(agent.identity, activity, desk, limits);
  } else if (activity.resetsAt !== null && activity.resetsAt > now && activity.resetsAt !== wall.resetsAt) {
    // A new reset time shows (a later window, or the first known one): re-armed with it.
    wall = {
      ...wall,
      resetsAt: activity.resetsAt,
      wakeAt: desk.slot(activity.resetsAt + limits.skewMs),
      lastWakeAt: null,
    };
  }

  let alert: ConductAlert | undefined;
  if (wall.lastWakeAt !== null) {
    const checkAt = wall.lastWakeAt + limits.checkAfterMs;
    if (now < checkAt) {
      return {
        memory: wall,
        note: `usage limit (${wallText(wall, formatTime)}): woken at ${formatTime(wall.lastWakeAt)} (wake ${wall.wakes} of ${limits.maxWakes}), checking at ${formatTime(checkAt)}`,
        recheckAt: checkAt,
      };
    }
    // Still walled after a wake: the wake failed. Retry later, backing off, and tell a person once.
    if (wall.wakes >= limits.maxWakes && !wall.escalated) {
      alert = {
        kind: "usage_limit_wake_failed",
        message: `${agent.identity} is still walled by its usage limit after ${wall.wakes} wakes (${wallText(wall, formatTime)}); townd keeps trying every ${formatDuration(limits.unknownRetryMs)}`,
        identities: [agent.identity],
      };
    }
    const backoff = Math.min(limits.unknownRetryMs, limits.checkAfterMs * 2 ** wall.wakes);
    const wakeAt =
      wall.resetsAt !== null && wall.resetsAt + limits.skewMs > now
        ? desk.slot(wall.resetsAt + limits.skewMs)
        : now + (wall.resetsAt === null ? limits.unknownRetryMs : backoff);
    wall = { ...wall, wakeAt, lastWakeAt: null, escalated: wall.escalated || alert !== undefined };
  }

  if (now >= wall.wakeAt) {
    const reason = `usage limit (${wallText(wall, formatTime)}): wake ${wall.wakes + 1}`;
    const woken: WallMemory = { ...wall, wakes: wall.wakes + 1, lastWakeAt: now };
    return {
      memory: woken,
      act: { kind: "keys", keys: "wall-wake", message: WALL_CONTINUATION, reason },
      note: reason,
      recheckAt: now + limits.checkAfterMs,
      ...(alert === undefined ? {} : { alert }),
    };
  }
  const next =
    wall.resetsAt === null
      ? `reset time unknown: next try at ${formatTime(wall.wakeAt)}`
      : `wake at ${formatTime(wall.wakeAt)}`;
  return {
    memory: wall,
    note: `usage limit (${wallText(wall, formatTime)}): ${next}`,
    recheckAt: wall.wakeAt,
    ...(alert === undefined ? {} : { alert }),
  };
}

/** A wall first seen: the agent joins its group and gets its wake slot. */
function openWall(
  identity: string,
  activity: ActivityView,
  desk: WallDesk,
  limits: ConductLimits["wall"],
): WallMemory {
  return {
    group: desk.join(identity, activity.since, activity.resetsAt),
    since: activity.since,
    resetsAt: activity.resetsAt,
    limit: activity.limit,
    wakeAt:
      activity.resetsAt === null
        ? activity.since + limits.unknownRetryMs
        : desk.slot(activity.resetsAt + limits.skewMs),
    wakes: 0,
    lastWakeAt: null,
    escalated: false,
  };
}

function wallText(wall: WallMemory, formatTime: (at: number) => string): string {
  const limit = wall.limit === null || wall.limit === "unknown" ? "" : `${wall.limit}, `;
  return wall.resetsAt === null ? `${limit}reset unknown` : `${limit}resets ${formatTime(wall.resetsAt)}`;
}

function earliestKnown(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
