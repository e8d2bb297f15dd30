import type { ApprovalRule, ConductLimits } from "../conduct/types.js";
import type { WatchdogLimits } from "../policy/limits.js";
import { formatDuration } from "../util/duration.js";
import type { SimActivityState } from "./trace.js";

/** What the I9/I10 checker (invariants-conduct.ts) follows of one agent through a trace. */
export interface CheckedAgent {
  role: string | null;
  generation: string | null;
  /** The current generation's activity (the truth of its hooks), with its detail and start. */
  state: SimActivityState | null;
  since: number;
  detail: string;
  resetsAt: number | null;
  /** While walled (alive or exited): when the wall began, its announced reset, and whether it was woken. */
  wall: {
    since: number;
    resetsAt: number | null;
    woken: boolean;
    exited: number | null;
    late: boolean;
  } | null;
  /** The permission wait already told, by its start; `told`: its missing notice was reported. */
  toldFor: number | null;
  told: boolean;
  idleNudged: boolean;
  stall: { since: number; rung: boolean } | null;
  /** The ladder: the last rung taken and when, and whether the watchdog nudged since it. */
  rung: number;
  rungAt: number;
  healthChecked: boolean;
  resumedExit: boolean;
  /** Restarts the restart policy counts (walled wakes and server restarts excluded). */
  restarts: number[];
  /** When it exited while walled. */
  walledExits: number[];
  /** Deaths the policy counts since the last stable run. */
  streak: number;
  startedAt: number | null;
}

export function newCheckedAgent(): CheckedAgent {
  return {
    role: null,
    generation: null,
    state: null,
    since: 0,
    detail: "",
    resetsAt: null,
    wall: null,
    toldFor: null,
    told: false,
    idleNudged: false,
    stall: null,
    rung: 0,
    rungAt: 0,
    healthChecked: false,
    resumedExit: false,
    restarts: [],
    walledExits: [],
    streak: 0,
    startedAt: null,
  };
}

const PATROL_ROLES: ReadonlySet<string> = new Set(["deacon", "witness", "refinery"]);

export interface DueContext {
  readonly conduct: ConductLimits;
  readonly watchdogs: ReadonlyMap<string, WatchdogLimits>;
  /** One pass of slack: a detection may wait for the next pass. */
  readonly slackMs: number;
  /** How many agents were walled with each announced reset (their wakes are staggered). */
  readonly cohorts: ReadonlyMap<number | null, ReadonlySet<string>>;
  readonly report: (at: number, identity: string, detail: string) => void;
}

/**
 * I10's deadlines, checked at every pass: a walled agent not woken by its reset + skew + its stagger slot,
 * a permission wait not told by its notice time, an idle patrol agent never nudged, a stall whose ladder
 * never moved. Each is reported once per episode.
 */
export function checkOverdue(agents: ReadonlyMap<string, CheckedAgent>, now: number, ctx: DueContext): void {
  const { conduct, slackMs, report } = ctx;
  for (const [identity, agent] of agents) {
    const wall = agent.wall;
    if (wall !== null && !wall.woken && !wall.late) {
      const slots = ctx.cohorts.get(wall.resetsAt)?.size ?? 1;
      const due =
        wall.resetsAt === null
          ? wall.since + conduct.wall.unknownRetryMs
          : wall.resetsAt + conduct.wall.skewMs + conduct.wall.staggerMs * slots;
      if (now > due + slackMs) {
        wall.late = true;
        report(now, identity, `walled past its wake (${formatDuration(now - due)} late): no wake`);
      }
    }
    if (agent.state === "awaiting-permission" && agent.toldFor !== agent.since && !agent.told) {
      const rule = allowedBy(agent.detail, conduct.permission.autoApprove);
      if (rule === undefined && now > agent.since + conduct.permission.notifyAfterMs + slackMs) {
        agent.told = true;
        report(now, identity, `waited ${formatDuration(now - agent.since)} for permission, not told`);
      }
    }
    if (agent.state !== "awaiting-permission") agent.told = false;
    const idleAfter = conduct.idlePatrolNudgeAfterMs;
    const patrol = agent.role !== null && PATROL_ROLES.has(agent.role);
    if (agent.state === "idle" && patrol && idleAfter > 0 && !agent.idleNudged) {
      if (now > agent.since + idleAfter + slackMs) {
        agent.idleNudged = true;
        report(now, identity, `idle at its prompt for ${formatDuration(now - agent.since)}, never nudged`);
      }
    }
    const stall = agent.stall;
    if (stall !== null && !stall.rung) {
      const after = ctx.watchdogs.get(agent.role ?? "")?.veryStaleMs ?? conduct.stuck.afterMs;
      if (now > stall.since + after + slackMs) {
        stall.rung = true;
        report(now, identity, `stalled for ${formatDuration(now - stall.since)}, the ladder never moved`);
      }
    }
  }
}

/** The approval rules as specified: the tool by name, the command by the rule's pattern. */
export function allowedBy(
  detail: string,
  rules: ConductLimits["permission"]["autoApprove"],
): ApprovalRule | undefined {
  const match = /^([A-Za-z][\w.-]*):\s?(.*)$/s.exec(detail);
  if (match === null) return undefined;
  const [, tool = "", command = ""] = match;
  return rules.find((rule) => rule.tool === tool && rule.command.test(command));
}
