import type { ActivityChange } from "../activity/book.js";
import { conductData, type ConductAction } from "../conduct/pass.js";
import { activityJson } from "../activity/state.js";
import type { Logger } from "../daemon/logger.js";
import type { Decision, ManualRequest } from "../policy/plan.js";
import { listEvents, recordEvent, type EventFilter, type NewEvent, type TownEvent } from "../store/events.js";
import type { TownConfig } from "../town/config.js";
import type { ChangeListeners } from "../util/change-listeners.js";
import type { DaemonClock } from "../util/monotonic-clock.js";
import type { Alerting } from "./alerting.js";
import { DecisionLog } from "./decision-log.js";
import type { ActionResult } from "./executor.js";
import { finishRequest } from "./request-records.js";
import type { StartupNotice } from "./startups.js";
import type { StoreHandle } from "./store-handle.js";

/**
 * The record stage: what the daemon decided, did and saw becomes an event in the town's store (for
 * `events`, `why` and the dashboard), and each one tells the change listeners. A store that cannot be
 * written is logged by the store handle and never stops supervision.
 */
export class RecordStage {
  private readonly store: StoreHandle;
  private readonly clock: DaemonClock;
  private readonly changes: ChangeListeners;
  private readonly alerting: Alerting;
  private readonly decisionLog = new DecisionLog();

  constructor(deps: {
    store: StoreHandle;
    clock: DaemonClock;
    changes: ChangeListeners;
    alerting: Alerting;
  }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.changes = deps.changes;
    this.alerting = deps.alerting;
  }

  event(log: Logger, event: NewEvent): void {
    this.store.use(log, "recording an event", (db) => {
      recordEvent(db, event, new Date(this.clock.wall()));
    });
    this.changes.notify();
  }

  events(filter: EventFilter, log: Logger): TownEvent[] {
    return this.store.use(log, "reading events", (db) => listEvents(db, filter)) ?? [];
  }

  /** The pass's decisions that change something (see DecisionLog). */
  decisions(decisions: readonly Decision[], log: Logger): void {
    this.decisionLog.record(decisions, log, (event) => {
      this.event(log, event);
    });
  }

  /** What conduct does to agents (a nudge, a key, a grouped wait) is an event with its reason. */
  conductActs(acts: readonly ConductAction[], log: Logger): void {
    for (const act of acts)
      this.event(log, {
        type: "conduct",
        identity: act.identity,
        reason: act.reason,
        data: conductData(act),
      });
  }

  /** A carried-out action, done or failed; a delivered nudge is not worth an event. */
  actionDone(result: ActionResult, log: Logger): void {
    if (result.action.kind === "nudge" && result.ok) return;
    this.event(log, {
      type: result.ok ? `${result.action.kind}_done` : `${result.action.kind}_failed`,
      identity: result.action.identity,
      generation: result.generation ?? null,
      reason: result.ok ? result.action.reason : result.detail,
      data: result.lastLines === undefined ? {} : { last_lines: result.lastLines },
    });
  }

  /** The stored request is answered: done, failed with `failure`, or with the decisions of its pass. */
  requestFinished(
    request: ManualRequest,
    failure: string | undefined,
    decisions: readonly Decision[],
    log: Logger,
  ): void {
    finishRequest(this.store, log, request, failure, decisions, new Date(this.clock.wall()));
  }

  /** Every change of an agent's activity is an event, with its evidence. */
  activityChanged(change: ActivityChange, log: Logger): void {
    const { to } = change;
    this.event(log, {
      type: "activity",
      identity: change.identity,
      generation: change.generation,
      reason: `${change.from?.state ?? "unknown"} → ${to.state} (${to.source}): ${to.detail}`,
      data: { ...activityJson(to), from: change.from?.state ?? null },
    });
  }

  /** Dialogs answered are recorded; a dialog townd must not answer is an alert (the start-ups send it once). */
  startupNotice(notice: StartupNotice, config: TownConfig, log: Logger): void {
    const data = {
      generation: notice.generation,
      ...(notice.screen === undefined ? {} : { screen: notice.screen }),
    };
    const message = `${notice.identity}: ${notice.message}`;
    if (notice.type === "needs_human") {
      log.warn({ agent: notice.identity }, message);
      this.alerting.notify("needs_human", message, [notice.identity], config, log, data);
      return;
    }
    log.info({ agent: notice.identity }, message);
    this.event(log, {
      type: notice.type,
      identity: notice.identity,
      generation: notice.generation,
      reason: notice.message,
      data,
    });
  }
}
