import type { Logger } from "../daemon/logger.js";
import { AppError } from "../errors.js";
import type { Decision, ManualRequest } from "../policy/plan.js";

/**
 * An operator request through the control API carries the time its caller stops waiting. A daemon that was
 * paused (SIGSTOP, a stuck disk) must not carry it out later: the caller has already reported "outcome
 * unknown" and may retry, and the agent would be restarted twice.
 */
export interface ApiQueued {
  readonly request: ManualRequest;
  readonly resolve: (decisions: Decision[]) => void;
  /** Epoch ms after which the request is dropped, unstarted. */
  readonly deadline?: number;
  readonly requestId?: string;
}

/** The deadline and id a request body names; an expired request is refused at once. */
export function requestDeadline(
  body: Record<string, unknown>,
  now: number,
): { deadline?: number; requestId?: string } {
  const deadline = body["deadline"];
  const requestId = body["request_id"];
  if (deadline !== undefined && (typeof deadline !== "number" || !Number.isFinite(deadline)))
    throw new AppError("E_BAD_REQUEST", "deadline must be a time in epoch milliseconds");
  if (typeof deadline === "number" && now > deadline)
    throw new AppError("E_EXPIRED", "The request's deadline passed before the daemon read it; not executed");
  return {
    ...(typeof deadline === "number" ? { deadline } : {}),
    ...(typeof requestId === "string" ? { requestId: requestId.slice(0, 64) } : {}),
  };
}

/** The queued requests whose callers still wait; the others are answered with no decisions and logged. */
export function takeLive(queued: readonly ApiQueued[], now: number, log: Logger): ApiQueued[] {
  const live: ApiQueued[] = [];
  for (const item of queued) {
    if (item.deadline === undefined || now <= item.deadline) {
      live.push(item);
      continue;
    }
    log.warn(
      { agent: item.request.identity },
      `Dropped operator request ${item.requestId ?? ""} (${item.request.kind} ${item.request.identity}): its caller stopped waiting before the daemon took it; not executed`,
    );
    item.resolve([]);
  }
  return live;
}
