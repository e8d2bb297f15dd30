import { parseDuration } from "../util/duration.js";
import type { SettingsFile } from "./schemas.js";

/** `operational.daemon` with every default applied; durations in milliseconds. */
export interface DaemonSettings {
  readonly recoveryHeartbeatIntervalMs: number;
  readonly deaconGracePeriodMs: number;
  readonly maxLifecycleMessageAgeMs: number;
  /** Kill sessions of disabled patrols and parked/docked rigs instead of leaving them alone. */
  readonly stopDisabled: boolean;
  /** SIGTERM → SIGKILL delay when a session's process tree is killed. */
  readonly killGracePeriodMs: number;
  /** How long the start-up sequence waits for an agent's prompt before nudging anyway. */
  readonly startupTimeoutMs: number;
  /**
   * Safety net under tmux's pane-died hook, which misses about one death in twenty on tmux 3.3a: a snapshot
   * this often finds deaths the hook did not report. 0 turns it off.
   */
  readonly deathPollIntervalMs: number;
  readonly restart: {
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
    readonly multiplier: number;
    readonly stabilityPeriodMs: number;
  };
  readonly logMaxBytes: number;
  readonly logMaxFiles: number;
}

export const DEFAULT_DAEMON_SETTINGS: DaemonSettings = {
  recoveryHeartbeatIntervalMs: 3 * 60_000,
  deaconGracePeriodMs: 5 * 60_000,
  maxLifecycleMessageAgeMs: 6 * 3_600_000,
  stopDisabled: false,
  killGracePeriodMs: 5_000,
  startupTimeoutMs: 60_000,
  deathPollIntervalMs: 2_000,
  restart: {
    initialBackoffMs: 30_000,
    maxBackoffMs: 10 * 60_000,
    multiplier: 2,
    stabilityPeriodMs: 30 * 60_000,
  },
  logMaxBytes: 10 * 1024 * 1024,
  logMaxFiles: 5,
};

function ms(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value);
}

/** Applies defaults to a validated settings file (durations were checked by the schema). */
export function daemonSettings(file: SettingsFile | undefined): DaemonSettings {
  const op = file?.operational?.daemon;
  const d = DEFAULT_DAEMON_SETTINGS;
  const restart = op?.restart;
  return {
    recoveryHeartbeatIntervalMs: Math.max(
      1000,
      ms(op?.recovery_heartbeat_interval, d.recoveryHeartbeatIntervalMs),
    ),
    deaconGracePeriodMs: ms(op?.deacon_grace_period, d.deaconGracePeriodMs),
    maxLifecycleMessageAgeMs: ms(op?.max_lifecycle_message_age, d.maxLifecycleMessageAgeMs),
    stopDisabled: op?.stop_disabled ?? d.stopDisabled,
    killGracePeriodMs: ms(op?.kill_grace_period, d.killGracePeriodMs),
    startupTimeoutMs: ms(op?.startup_timeout, d.startupTimeoutMs),
    deathPollIntervalMs: ms(op?.death_poll_interval, d.deathPollIntervalMs),
    restart: {
      initialBackoffMs: ms(restart?.initial_backoff, d.restart.initialBackoffMs),
      maxBackoffMs: ms(restart?.max_backoff, d.restart.maxBackoffMs),
      multiplier: restart?.multiplier ?? d.restart.multiplier,
      stabilityPeriodMs: ms(restart?.stability_period, d.restart.stabilityPeriodMs),
    },
    logMaxBytes: Math.round((op?.log_max_size_mb ?? d.logMaxBytes / 1024 / 1024) * 1024 * 1024),
    logMaxFiles: op?.log_max_files ?? d.logMaxFiles,
  };
}
