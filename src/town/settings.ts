import { DEFAULT_DIALOG_ANSWERS, type DialogAnswers } from "../activity/dialogs.js";
import type { PolicyLimits, WatchdogLimits } from "../policy/limits.js";
import { conductLimits } from "../conduct/settings.js";
import type { ConductLimits } from "../conduct/types.js";
import type { Retention } from "../store/retention.js";
import { parseDuration } from "../util/duration.js";
import type { SettingsFile } from "./schemas.js";
import { webhookSettings, type WebhookSettings } from "./notify-webhook.js";

/** `operational.daemon` with every default applied; durations in milliseconds. */
export interface DaemonSettings {
  readonly recoveryHeartbeatIntervalMs: number;
  readonly deaconGracePeriodMs: number;
  /** Boot runs at most once per this long (src/policy/boot.ts). */
  readonly bootSpawnCooldownMs: number;
  readonly maxLifecycleMessageAgeMs: number;
  /** At most `count` lifecycle requests per agent within `windowMs`; more are rejected with a reply. */
  readonly lifecycleRequestRate: { readonly count: number; readonly windowMs: number };
  /** Kill sessions of disabled patrols and parked/docked rigs instead of leaving them alone. */
  readonly stopDisabled: boolean;
  /** SIGTERM → SIGKILL delay when a session's process tree is killed. */
  readonly killGracePeriodMs: number;
  /** How long the start-up sequence waits for an agent's prompt before nudging anyway. */
  readonly startupTimeoutMs: number;
  /**
   * Safety net under tmux's pane-died hook, which misses about one death in ten on tmux 3.3a (measured): a
   * snapshot (2-3 ms) this often finds deaths the hook did not report. 0 turns it off.
   */
  readonly deathPollIntervalMs: number;
  /** How often the tmux server is sent a SIGCHLD so a pane whose exit it missed is reaped (0: never). */
  readonly reapKickIntervalMs: number;
  /**
   * Let tmux respawn a patrol agent the moment it dies, from a hook the planner arms only while the policy
   * would respawn it at once anyway (src/policy/arming.ts); false leaves every death to the next pass.
   */
  readonly armedRespawn: boolean;
  /** Hooked work on a live agent that has not acted for this long is a GUPP violation (reference 30 m). */
  readonly guppTimeoutMs: number;
  /** Run for every alert with the event as JSON on stdin: a string goes through /bin/sh, an array is argv. */
  readonly notifyCommand: string | readonly string[] | null;
  /** The same alerts POSTed as JSON (townd's, Slack's or ntfy's shape), retried a few times; null: none. */
  readonly notifyWebhook: WebhookSettings | null;
  readonly restart: PolicyLimits["restart"];
  /** Everything the planner bounds: backoff, crash loop, spawn budget, mass death. */
  readonly limits: PolicyLimits;
  /** Heartbeat watchdogs by role; the Deacon's is on unless `watchdog.deacon.enabled` is false. */
  readonly watchdogs: ReadonlyMap<string, WatchdogLimits>;
  readonly logMaxBytes: number;
  readonly logMaxFiles: number;
  /** How the start-up sequence answers the dialogs it knows. */
  readonly dialogAnswers: DialogAnswers;
  /** An exit this soon after a start, with a message the runtime's profile knows, is a failed start. */
  readonly startFailureWindowMs: number;
  /** What the store keeps (see store/retention.ts); not timers, so not held to MAX_TIMER_MS. */
  readonly retention: Retention;
  /** What townd does about what live agents are doing (src/conduct/). */
  readonly conduct: ConductLimits;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const DEFAULT_RETENTION: Retention = {
  readMailMs: 30 * DAY,
  unreadMailMs: 90 * DAY,
  requestsMs: 30 * DAY,
  noticesMs: 30 * DAY,
  eventsKept: 100_000,
};

export const DEFAULT_LIMITS: PolicyLimits = {
  restart: {
    initialBackoffMs: 30_000,
    maxBackoffMs: 10 * MINUTE,
    multiplier: 2,
    stabilityPeriodMs: 30 * MINUTE,
  },
  crashLoop: { count: 5, windowMs: 30 * MINUTE, retryMs: 60 * MINUTE },
  spawnBudget: { count: 20, windowMs: 10 * MINUTE },
  massDeath: { count: 3, windowMs: 30_000, cooldownMs: 2 * MINUTE },
  stopDisabled: false,
};

export const DEFAULT_WATCHDOG: WatchdogLimits = {
  staleMs: 5 * MINUTE,
  veryStaleMs: 20 * MINUTE,
  graceMs: 5 * MINUTE,
};

/** Node timers fire at once for delays over 2^31-1 ms (~24.8 days): longer settings are held to that. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function ms(value: string | undefined, fallback: number): number {
  return Math.min(MAX_TIMER_MS, value === undefined ? fallback : parseDuration(value));
}

/** Applies defaults to a validated settings file (durations were checked by the schema). */
export function daemonSettings(file: SettingsFile | undefined): DaemonSettings {
  const op = file?.operational?.daemon;
  const d = DEFAULT_LIMITS;
  const r = op?.restart;
  const stopDisabled = op?.stop_disabled ?? d.stopDisabled;
  const limits: PolicyLimits = {
    restart: {
      initialBackoffMs: ms(r?.initial_backoff, d.restart.initialBackoffMs),
      maxBackoffMs: ms(r?.max_backoff, d.restart.maxBackoffMs),
      multiplier: r?.multiplier ?? d.restart.multiplier,
      stabilityPeriodMs: ms(r?.stability_period, d.restart.stabilityPeriodMs),
    },
    crashLoop: {
      count: r?.crash_loop_count ?? d.crashLoop.count,
      windowMs: ms(r?.crash_loop_window, d.crashLoop.windowMs),
      retryMs: ms(r?.crash_loop_retry, d.crashLoop.retryMs),
    },
    spawnBudget: {
      count: op?.spawn_budget?.count ?? d.spawnBudget.count,
      windowMs: ms(op?.spawn_budget?.window, d.spawnBudget.windowMs),
    },
    massDeath: {
      count: op?.mass_death_threshold ?? d.massDeath.count,
      windowMs: ms(op?.mass_death_window, d.massDeath.windowMs),
      cooldownMs: ms(op?.mass_death_cooldown, d.massDeath.cooldownMs),
    },
    stopDisabled,
  };
  const deaconGracePeriodMs = ms(op?.deacon_grace_period, DEFAULT_WATCHDOG.graceMs);
  const watchdogs = new Map<string, WatchdogLimits>();
  const configured = op?.watchdog ?? {};
  for (const role of new Set(["deacon", ...Object.keys(configured)])) {
    const w = configured[role];
    const enabled = w?.enabled ?? (role === "deacon" || w !== undefined);
    if (!enabled) continue;
    watchdogs.set(role, {
      staleMs: ms(w?.stale, DEFAULT_WATCHDOG.staleMs),
      veryStaleMs: ms(w?.very_stale, DEFAULT_WATCHDOG.veryStaleMs),
      graceMs: ms(w?.grace, role === "deacon" ? deaconGracePeriodMs : DEFAULT_WATCHDOG.graceMs),
    });
  }
  return {
    recoveryHeartbeatIntervalMs: Math.max(100, ms(op?.recovery_heartbeat_interval, 3 * MINUTE)),
    deaconGracePeriodMs,
    bootSpawnCooldownMs: ms(op?.boot_spawn_cooldown, 2 * MINUTE),
    maxLifecycleMessageAgeMs: ms(op?.max_lifecycle_message_age, 6 * 60 * MINUTE),
    lifecycleRequestRate: {
      count: op?.lifecycle_request_rate?.count ?? 6,
      windowMs: ms(op?.lifecycle_request_rate?.window, 10 * MINUTE),
    },
    stopDisabled,
    killGracePeriodMs: ms(op?.kill_grace_period, 5_000),
    startupTimeoutMs: ms(op?.startup_timeout, MINUTE),
    deathPollIntervalMs: ms(op?.death_poll_interval, 500),
    reapKickIntervalMs: ms(op?.reap_kick_interval, 100),
    armedRespawn: op?.armed_respawn ?? true,
    guppTimeoutMs: ms(op?.gupp_timeout, 30 * MINUTE),
    notifyCommand: op?.notify_command ?? null,
    notifyWebhook: webhookSettings(op?.notify_webhook),
    restart: limits.restart,
    limits,
    watchdogs,
    logMaxBytes: Math.round((op?.log_max_size_mb ?? 10) * 1024 * 1024),
    logMaxFiles: op?.log_max_files ?? 5,
    dialogAnswers: {
      workspaceTrust: op?.agent_dialogs?.workspace_trust ?? DEFAULT_DIALOG_ANSWERS.workspaceTrust,
      customApiKey: op?.agent_dialogs?.custom_api_key ?? DEFAULT_DIALOG_ANSWERS.customApiKey,
    },
    startFailureWindowMs: ms(op?.start_failure_window, 10_000),
    retention: retention(op?.retention),
    conduct: conductLimits(op, ms),
  };
}

type RetentionFile = NonNullable<
  NonNullable<NonNullable<SettingsFile["operational"]>["daemon"]>["retention"]
>;

function retention(file: RetentionFile | undefined): Retention {
  const keep = (value: string | undefined, fallback: number): number =>
    value === undefined ? fallback : parseDuration(value);
  const d = DEFAULT_RETENTION;
  return {
    readMailMs: keep(file?.mail, d.readMailMs),
    unreadMailMs: keep(file?.unread_mail, d.unreadMailMs),
    requestsMs: keep(file?.requests, d.requestsMs),
    noticesMs: keep(file?.notices, d.noticesMs),
    eventsKept: d.eventsKept,
  };
}
