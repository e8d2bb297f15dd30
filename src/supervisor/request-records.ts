import type { TmuxSnapshot } from "../tmux/types.js";
import type { Logger } from "../daemon/logger.js";
import { DAEMON_SENDER, replyAddress } from "../lifecycle/intake.js";
import type { Decision, ManualRequest } from "../policy/plan.js";
import { recordEvent } from "../store/events.js";
import { finishRequest as finishStoredRequest, settleLeftoverClaims } from "../store/lifecycle.js";
import { fitMail, sendMail } from "../store/mail.js";
import type { StoreHandle } from "./store-handle.js";

/**
 * The store's record of lifecycle requests as the pass carries them out: each one finished when its own
 * action resolves, and those a killed daemon left claimed settled at the next start (I5).
 */

/** A lifecycle request is done when its action succeeded (or none was needed), failed otherwise; never retried. */
export function finishRequest(
  store: StoreHandle,
  log: Logger,
  request: ManualRequest,
  failure: string | undefined,
  decisions: readonly Decision[],
  now: Date,
): void {
  const id = request.requestId;
  if (id === undefined) return;
  const decision = decisions.find((d) => d.requestId === id);
  const detail = failure ?? decision?.reason ?? "no action needed";
  store.use(log, "finishing a lifecycle request", (db) => {
    finishStoredRequest(db, id, failure === undefined ? "done" : "failed", detail, now);
    recordEvent(
      db,
      {
        type: failure === undefined ? "lifecycle_done" : "lifecycle_failed",
        identity: request.identity,
        reason: `${request.kind}: ${detail}`,
        data: { request: id },
      },
      now,
    );
  });
  const outcome = failure === undefined ? "done" : `failed: ${detail}`;
  log.info({ agent: request.identity }, `Lifecycle request ${id} (${request.kind}) ${outcome}`);
}

/**
 * Requests a previous daemon claimed but never finished: recorded as done when the agent's generation
 * shows they were carried out, else reported as interrupted and not executed twice (I5).
 */
export function settleInterruptedRequests(
  store: StoreHandle,
  log: Logger,
  generationOf: (identity: string) => string | null,
  now: Date,
): void {
  store.use(log, "recovering interrupted requests", (db) => {
    const { interrupted, carriedOut } = settleLeftoverClaims(db, generationOf, now);
    for (const request of carriedOut) {
      log.info(
        { agent: request.identity },
        `Lifecycle request ${request.id} (${request.action}) was ${request.detail}`,
      );
      recordEvent(
        db,
        {
          type: "lifecycle_done",
          identity: request.identity,
          reason: request.detail,
          data: { request: request.id },
        },
        now,
      );
    }
    for (const request of interrupted) {
      const why = "the daemon stopped between claiming and executing it; it was not executed, send it again";
      log.warn(
        { agent: request.identity },
        `Lifecycle request ${request.id} (${request.action}) interrupted: ${why}`,
      );
      recordEvent(
        db,
        {
          type: "lifecycle_interrupted",
          identity: request.identity,
          reason: why,
          data: { request: request.id },
        },
        now,
      );
      sendMail(
        db,
        fitMail({
          from: DAEMON_SENDER,
          to: replyAddress(request.requested_by),
          subject: `LIFECYCLE INTERRUPTED: ${request.identity} ${request.action}`,
          body: `Your lifecycle request ${request.id} was interrupted: ${why}`,
          type: "reply",
        }),
        now,
      );
    }
  });
}

/** The generation each agent's pane runs, by the identity townd labelled it with. */
export function generationsIn(snapshot: TmuxSnapshot): (identity: string) => string | null {
  const byIdentity = new Map<string, string>();
  for (const pane of snapshot.panes)
    if (pane.identity !== null && pane.generation !== null) byIdentity.set(pane.identity, pane.generation);
  return (identity) => byIdentity.get(identity) ?? null;
}
