import type { Logger } from "../daemon/logger.js";
import type { Decision } from "../policy/plan.js";
import type { NewEvent } from "../store/events.js";

/** Logs and records every decision that changes something; a repeated wait only when it changes. */
export class DecisionLog {
  private readonly lastLogged = new Map<string, string>();

  record(decisions: readonly Decision[], log: Logger, event: (event: NewEvent) => void): void {
    for (const decision of decisions) {
      const key = `${decision.action}:${decision.action === "wait" ? (decision.holdBy ?? "") : decision.reason}`;
      const changed = this.lastLogged.get(decision.identity) !== key;
      this.lastLogged.set(decision.identity, key);
      if (decision.action === "none" && decision.requestId === undefined && decision.requested !== true) {
        log.debug({ agent: decision.identity }, `${decision.identity}: ${decision.reason}`);
        continue;
      }
      if (!changed && decision.action === "wait") continue;
      log.info(
        { agent: decision.identity, verdict: decision.verdict, action: decision.action },
        `${decision.identity}: ${decision.action} (${decision.reason})`,
      );
      event({
        type: "decision",
        identity: decision.identity,
        reason: decision.reason,
        data: {
          action: decision.action,
          verdict: decision.verdict,
          ...(decision.holdBy === undefined ? {} : { hold: decision.holdBy }),
        },
      });
    }
  }
}
