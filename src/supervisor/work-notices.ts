import type { Logger } from "../daemon/logger.js";
import { DAEMON_SENDER } from "../lifecycle/intake.js";
import { workNotices, type PolecatView } from "../lifecycle/work-checks.js";
import type { PolecatWork } from "../policy/desired.js";
import type { Decision } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import { recordEvent } from "../store/events.js";
import { firstNotice } from "../store/lifecycle.js";
import { fitMail, sendMail } from "../store/mail.js";
import { formatIdentity } from "../town/identity.js";
import type { ActionResult } from "./executor.js";
import type { ObservedAgent } from "./observe.js";
import type { StoreHandle } from "./store-handle.js";

export interface WorkNoticeInput {
  readonly polecats: readonly PolecatWork[];
  readonly observed: readonly ObservedAgent[];
  readonly decisions: readonly Decision[];
  readonly results: readonly ActionResult[];
  readonly records: ReadonlyMap<string, AgentRecord>;
  readonly guppTimeoutMs: number;
  readonly now: Date;
}

/** GUPP violations, orphaned work and failed polecat restarts go to the rig's Witness, once per episode. */
export function sendWorkNotices(store: StoreHandle, log: Logger, input: WorkNoticeInput): void {
  const { now } = input;
  const byIdentity = new Map(input.observed.map((agent) => [agent.desired.identity, agent]));
  const views: PolecatView[] = input.polecats.flatMap((polecat) => {
    const identity = formatIdentity({ role: "polecat", rig: polecat.rig, name: polecat.name });
    const agent = byIdentity.get(identity);
    if (agent === undefined) return [];
    const decision = input.decisions.find((d) => d.identity === identity);
    const failed = input.results.find((r) => r.action.identity === identity && !r.ok);
    const record = input.records.get(identity);
    const abandoned = !agent.desired.wanted || decision?.holdBy === "crash-loop";
    return [
      {
        ...polecat,
        identity,
        verdict: agent.verdict,
        abandoned,
        generation: record?.generation ?? null,
        spawnError: failed?.detail ?? null,
      },
    ];
  });
  for (const notice of workNotices(views, now.getTime(), input.guppTimeoutMs)) {
    store.use(log, "sending a work notice", (db) => {
      db.transaction(() => {
        if (!firstNotice(db, notice.identity, notice.kind, notice.episode, now)) return;
        sendMail(
          db,
          fitMail({
            from: DAEMON_SENDER,
            to: notice.to,
            subject: notice.subject,
            body: notice.body,
            type: "notice",
          }),
          now,
        );
        recordEvent(
          db,
          { type: notice.kind.toLowerCase(), identity: notice.identity, reason: notice.subject },
          now,
        );
        log.warn({ agent: notice.identity }, `Notified ${notice.to}: ${notice.subject}`);
      })();
    });
  }
}
