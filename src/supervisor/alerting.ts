import type { Logger } from "../daemon/logger.js";
import { DAEMON_SENDER } from "../lifecycle/intake.js";
import { recordEvent } from "../store/events.js";
import { fitMail, sendMail } from "../store/mail.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonClock } from "../util/monotonic-clock.js";
import { FailedRestartEpisodes } from "./alert-episodes.js";
import { appendFeedEvent, type AnyAlert } from "./alerts.js";
import type { ActionResult } from "./executor.js";
import { runNotifyCommand, stopNotifiers } from "./notify.js";
import type { StoreHandle } from "./store-handle.js";
import { WebhookNotifier } from "./webhook.js";

/**
 * Everything an operator must hear about (crash loop, mass death, an exhausted spawn budget, a failed
 * restart, a dialog townd must not answer) is recorded as an event, mailed to the Mayor, and handed to
 * notify_command and notify_webhook. A slow notifier never holds up a pass: neither is awaited.
 */
export class Alerting {
  private readonly webhooks = new WebhookNotifier();
  private readonly failedRestarts = new FailedRestartEpisodes();
  private readonly paths: TownPaths;
  private readonly store: StoreHandle;
  private readonly clock: DaemonClock;

  constructor(paths: TownPaths, store: StoreHandle, clock: DaemonClock) {
    this.paths = paths;
    this.store = store;
    this.clock = clock;
  }

  /** A pass's alerts: logged, written to the town feed (the reference's .feed.jsonl), and notified. */
  raise(alerts: readonly AnyAlert[], passWall: number, config: TownConfig, log: Logger): void {
    for (const alert of alerts) {
      log.error({ alert: alert.kind, agents: alert.identities }, `ALERT ${alert.kind}: ${alert.message}`);
      appendFeedEvent(
        this.paths.root,
        alert,
        new Date(passWall),
        config.daemon.limits.massDeath.windowMs,
        log,
      );
      this.notify(alert.kind, alert.message, alert.identities, config, log);
    }
  }

  /** Agents seen running end their failed-restart episodes. */
  running(identities: Iterable<string>): void {
    this.failedRestarts.running(identities);
  }

  /** A spawn or respawn that failed is alerted once per episode, not once per retry. */
  actionDone(done: ActionResult, config: TownConfig, log: Logger): void {
    const { kind, identity } = done.action;
    if (done.ok || (kind !== "spawn" && kind !== "respawn") || !this.failedRestarts.first(identity)) return;
    this.notify("restart_failed", `Cannot ${kind} ${identity}: ${done.detail}`, [identity], config, log);
  }

  notify(
    type: string,
    message: string,
    agents: readonly string[],
    config: TownConfig,
    log: Logger,
    extra: Record<string, unknown> = {},
  ): void {
    const now = new Date(this.clock.wall());
    // An alert about one agent is that agent's event too, so `townd why AGENT` shows it.
    const identity = agents.length === 1 ? (agents[0] ?? null) : null;
    this.store.use(log, "recording an alert", (db) => {
      recordEvent(db, { type, identity, reason: message, data: { agents, ...extra } }, now);
      sendMail(
        db,
        fitMail({
          from: DAEMON_SENDER,
          to: "mayor",
          subject: `ALERT ${type}: ${message.slice(0, 120)}`,
          body: message,
          priority: "high",
          type: "alert",
        }),
        now,
      );
    });
    const alert = { type, ts: now.toISOString(), message, agents, town: this.paths.root };
    const command = config.daemon.notifyCommand;
    if (command !== null) runNotifyCommand(command, alert, log);
    const webhook = config.daemon.notifyWebhook;
    if (webhook !== null) this.webhooks.send(webhook, alert, log);
  }

  /** Ends the notifiers still running and aborts webhook deliveries still under way (the daemon stops). */
  async stop(log: Logger): Promise<void> {
    const notifiers = stopNotifiers();
    if (notifiers > 0) log.info(`Stopped ${notifiers} notify_command(s) still running`);
    const webhooks = await this.webhooks.stop();
    if (webhooks > 0) log.info(`Aborted ${webhooks} notify_webhook delivery(ies) still under way`);
  }
}
