import { z } from "zod";
import { durationString } from "../town/schema-helpers.js";
import type { Role } from "../town/identity.js";
import { parseDuration } from "../util/duration.js";
import type { ApprovalRule, ConductLimits } from "./types.js";

/** Longest approval pattern accepted: a setting, not a program. */
const PATTERN_MAX_CHARS = 500;

const approvalRule = z.looseObject({
  tool: z.string().regex(/^[A-Za-z][\w.-]{0,63}$/, "a tool name such as Bash or Edit"),
  command: z
    .string()
    .max(PATTERN_MAX_CHARS)
    .refine((source) => {
      try {
        new RegExp(source);
        return true;
      } catch {
        return false;
      }
    }, "not a valid regular expression"),
});

const percent = z.number().min(1).max(100).nullable();

/** The settings of what townd does about agents' activity (operational.daemon, see README "Acting on activity"). */
export const conductSchema = {
  usage_limits: z
    .looseObject({
      wake_skew: durationString.optional(),
      wake_stagger: durationString.optional(),
      group_window: durationString.optional(),
      unknown_reset_retry: durationString.optional(),
      wake_check: durationString.optional(),
      max_wakes: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  permission_wait: z
    .looseObject({
      notify_after: durationString.optional(),
      auto_approve: z.array(approvalRule).max(100).optional(),
    })
    .optional(),
  /** "0" turns the idle patrol nudge off. */
  idle_patrol_nudge_after: durationString.optional(),
  stuck: z.looseObject({ after: durationString.optional(), rung_wait: durationString.optional() }).optional(),
  /** A percent for every role, or per role with "default"; null turns it off. */
  context_cycle_percent: z.union([percent, z.record(z.string(), percent)]).optional(),
};

type ConductFile = { [K in keyof typeof conductSchema]?: z.output<(typeof conductSchema)[K]> };

const S = 1000;
const M = 60 * S;

export const DEFAULT_CONDUCT: ConductLimits = {
  wall: {
    skewMs: 3 * M,
    staggerMs: 5 * S,
    groupWindowMs: 90 * S,
    unknownRetryMs: 30 * M,
    checkAfterMs: 2 * M,
    maxWakes: 3,
  },
  permission: { notifyAfterMs: 10 * M, autoApprove: [] },
  idlePatrolNudgeAfterMs: 15 * M,
  stuck: { afterMs: 30 * M, rungWaitMs: 3 * M },
  contextCyclePercent: () => 80,
};

export function conductLimits(
  file: ConductFile | undefined,
  ms: (value: string | undefined, fallback: number) => number = defaultMs,
): ConductLimits {
  const d = DEFAULT_CONDUCT;
  const u = file?.usage_limits;
  const cycle = file?.context_cycle_percent;
  const autoApprove: ApprovalRule[] = (file?.permission_wait?.auto_approve ?? []).map((rule) => ({
    tool: rule.tool,
    command: new RegExp(rule.command),
  }));
  return {
    wall: {
      skewMs: ms(u?.wake_skew, d.wall.skewMs),
      staggerMs: ms(u?.wake_stagger, d.wall.staggerMs),
      groupWindowMs: ms(u?.group_window, d.wall.groupWindowMs),
      unknownRetryMs: Math.max(S, ms(u?.unknown_reset_retry, d.wall.unknownRetryMs)),
      checkAfterMs: Math.max(S, ms(u?.wake_check, d.wall.checkAfterMs)),
      maxWakes: u?.max_wakes ?? d.wall.maxWakes,
    },
    permission: {
      notifyAfterMs: ms(file?.permission_wait?.notify_after, d.permission.notifyAfterMs),
      autoApprove,
    },
    idlePatrolNudgeAfterMs: ms(file?.idle_patrol_nudge_after, d.idlePatrolNudgeAfterMs),
    stuck: {
      afterMs: Math.max(S, ms(file?.stuck?.after, d.stuck.afterMs)),
      rungWaitMs: Math.max(S, ms(file?.stuck?.rung_wait, d.stuck.rungWaitMs)),
    },
    contextCyclePercent: (role: Role) => {
      if (cycle === undefined) return 80;
      if (cycle === null || typeof cycle === "number") return cycle;
      // A role set to null is off for that role: only a missing role falls back to "default".
      const value = role in cycle ? cycle[role] : cycle["default"];
      return value === undefined ? 80 : value;
    },
  };
}

function defaultMs(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value);
}
