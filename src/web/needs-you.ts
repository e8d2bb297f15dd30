import { DEFAULT_CONDUCT } from "../conduct/settings.js";
/**
 * The dashboard's "needs you" list: the agents that wait on a person, each once, with why. Pure: the same
 * statuses and time give the same answer, and the time of the next change that no event announces (a
 * permission wait reaching its limit) comes with it, so a live view can look again then.
 */

/** The fields of an agent's status (`townd status --json`) this reads. */
export interface AgentView {
  readonly identity: string;
  readonly state: string;
  readonly detail?: string | null | undefined;
  readonly activity?:
    | {
        readonly state: string;
        readonly since: string;
        readonly detail: string;
        readonly resets_at: string | null;
      }
    | null
    | undefined;
}

export type NeedKind =
  "needs-human" | "auth-required" | "permission" | "wall" | "crash-loop" | "failed-to-start";

export interface Need {
  readonly identity: string;
  readonly kind: NeedKind;
  readonly detail: string;
  /** For a wall: when it lifts (ISO time), when known. */
  readonly until?: string;
}

export interface NeedsYou {
  readonly needs: Need[];
  /** When the list changes by time alone (epoch ms); null when only a status change can change it. */
  readonly nextChangeAt: number | null;
}

/** A tool permission waited on this long needs a person (a shorter one is an agent's normal pause). */
export const PERMISSION_WAIT_LIMIT_MS = DEFAULT_CONDUCT.permission.notifyAfterMs;

/** `permissionLimitMs`: the town's `permission_wait.notify_after`, when the caller knows it. */
export function needsYou(
  agents: readonly AgentView[],
  now: number,
  permissionLimitMs = PERMISSION_WAIT_LIMIT_MS,
): NeedsYou {
  const needs: Need[] = [];
  let nextChangeAt: number | null = null;
  for (const agent of agents) {
    const activity = agent.activity ?? null;
    const need = (kind: NeedKind, detail: string | null | undefined, until?: string | null): void => {
      needs.push({
        identity: agent.identity,
        kind,
        detail: detail ?? "",
        ...(until === undefined || until === null ? {} : { until }),
      });
    };
    if (agent.state === "failed-to-start") need("failed-to-start", agent.detail);
    else if (agent.state === "crash-loop") need("crash-loop", agent.detail ?? "restarts held back");
    else if (agent.state === "needs-human" || activity?.state === "needs-human")
      need("needs-human", agent.detail ?? activity?.detail);
    else if (activity?.state === "auth-required") need("auth-required", activity.detail);
    else if (activity?.state === "rate-limited") need("wall", activity.detail, activity.resets_at);
    else if (activity?.state === "awaiting-permission") {
      const since = Date.parse(activity.since);
      const limitAt = Number.isNaN(since) ? now : since + permissionLimitMs;
      if (limitAt <= now) need("permission", activity.detail);
      else nextChangeAt = nextChangeAt === null ? limitAt : Math.min(nextChangeAt, limitAt);
    }
  }
  return { needs, nextChangeAt };
}
