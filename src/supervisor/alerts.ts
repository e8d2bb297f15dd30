import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { Alert } from "../policy/plan.js";
import { formatDuration } from "../util/duration.js";
import { parseIdentity, sessionName } from "../town/identity.js";

/** An alert of the planner's kinds or of conduct's own (walls, stalls, permission prompts). */
export type AnyAlert = Omit<Alert, "kind"> & { readonly kind: string };

/**
 * An alert goes to the log and to the town's event feed, `.events.jsonl`, in the reference's format (§10.3),
 * so Gas Town's feed curator shows it.
 */
export function appendFeedEvent(
  townRoot: string,
  alert: AnyAlert,
  now: Date,
  massDeathWindowMs: number,
  log: Logger,
): void {
  const payload =
    alert.kind === "mass_death"
      ? {
          count: alert.identities.length,
          window: formatDuration(massDeathWindowMs),
          // The reference's feed lists tmux session names (§10.3); the identities stay under `agents`.
          sessions: alert.identities.map((identity) => sessionName(parseIdentity(identity))),
          agents: alert.identities,
          message: alert.message,
        }
      : { agents: alert.identities, message: alert.message };
  const event = {
    ts: now.toISOString().replace(/\.\d+Z$/, "Z"),
    source: "townd",
    type: alert.kind,
    actor: "daemon",
    payload,
    visibility: "feed",
  };
  try {
    appendFileSync(join(townRoot, ".events.jsonl"), `${JSON.stringify(event)}\n`);
  } catch (error) {
    log.error(`Cannot append to .events.jsonl: ${errorMessage(error)}`);
  }
}
