import { formatAge } from "../util/duration.js";
import type { ApprovalRule, ConductAct, ConductAgent, ConductAlert, ConductLimits } from "./types.js";

/**
 * Permission waits (agent-states.md §3(b)). townd never approves anything by itself unless a rule for the
 * tool allows the exact command; by default none does. A wait longer than `notifyAfterMs` is told to a
 * person once, naming the agent, the tool and the command.
 */

export interface PermissionStep {
  readonly notified: number | null;
  readonly approved: number | null;
  readonly act?: ConductAct;
  readonly alert?: ConductAlert;
  readonly note?: string;
  readonly recheckAt?: number;
}

/** "Bash: npm test" → the tool and the command (the detail hooks and screens give a permission wait). */
export function waitedOn(detail: string): { tool: string; command: string } | null {
  // Hooks say "Bash: npm test"; Claude's prompt is titled "Bash command" with the command under it.
  const match = /^([A-Za-z][\w.-]*)(?: command)?:\s?(.*)$/s.exec(detail);
  if (match === null) return null;
  return { tool: match[1] ?? "", command: match[2] ?? "" };
}

export function approvedBy(detail: string, rules: readonly ApprovalRule[]): ApprovalRule | undefined {
  const wait = waitedOn(detail);
  if (wait === null) return undefined;
  return rules.find((rule) => rule.tool === wait.tool && rule.command.test(wait.command));
}

export function conductPermission(
  agent: ConductAgent,
  memory: { notified: number | null; approved: number | null },
  limits: ConductLimits["permission"],
  now: number,
): PermissionStep {
  const activity = agent.activity;
  if (agent.verdict !== "alive" || activity?.state !== "awaiting-permission") return memory;
  const since = activity.since;
  const rule = memory.approved === since ? undefined : approvedBy(activity.detail, limits.autoApprove);
  if (rule !== undefined) {
    const reason = `approved by rule ${rule.tool} /${rule.command.source}/: ${activity.detail}`;
    return { ...memory, approved: since, act: { kind: "keys", keys: "approve", reason }, note: reason };
  }
  const dueAt = since + limits.notifyAfterMs;
  if (now < dueAt) {
    return { ...memory, note: `waiting for permission: ${activity.detail}`, recheckAt: dueAt };
  }
  if (memory.notified === since) {
    return {
      ...memory,
      note: `waiting for permission for ${formatAge(now - since)}, told: ${activity.detail}`,
    };
  }
  const message = `${agent.identity} has waited ${formatAge(now - since)} for permission: ${activity.detail}`;
  return {
    ...memory,
    notified: since,
    alert: { kind: "permission_wait", message, identities: [agent.identity] },
    note: message,
  };
}
