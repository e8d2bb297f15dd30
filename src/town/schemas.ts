import { z } from "zod";
import { runtimeSchema } from "../agents/runtime-schema.js";
import { telemetrySchema } from "../agents/telemetry-schema.js";
import { conductSchema } from "../conduct/settings.js";
import { durationString, listenAddress, rigName } from "./schema-helpers.js";
import { notifyWebhookSchema } from "./notify-webhook.js";

/**
 * Schemas for every file townd reads. Objects are "loose": fields townd does not know survive a rewrite,
 * so a town shared with other Gas Town tools keeps their data.
 */

export const townFileSchema = z.looseObject({
  type: z.string().optional(),
  version: z.number().optional(),
  name: z.string().optional(),
  created_at: z.string().optional(),
});

export const rigEntrySchema = z.looseObject({
  git_url: z.string().optional(),
  local_repo: z.string().optional(),
  added_at: z.string().optional(),
  beads: z.looseObject({ repo: z.string().optional(), prefix: z.string().optional() }).optional(),
});

export const rigsFileSchema = z.looseObject({
  version: z.number(),
  rigs: z.record(rigName, rigEntrySchema),
});
export type RigsFile = z.output<typeof rigsFileSchema>;

const patrolSchema = z.looseObject({
  enabled: z.boolean().optional(),
  interval: z.string().optional(),
  agent: z.string().optional(),
  rigs: z.array(z.string()).optional(),
});
export type PatrolEntry = z.output<typeof patrolSchema>;

/** mayor/daemon.json, reference §6.3. */
export const patrolConfigSchema = z.looseObject({
  type: z.union([z.literal("daemon-patrol-config"), z.literal("")]).optional(),
  version: z.number().int().max(1, "must be 1 or lower").optional(),
  heartbeat: patrolSchema.optional(),
  patrols: z.record(z.string(), patrolSchema).optional(),
});
export type PatrolConfig = z.output<typeof patrolConfigSchema>;

/** .beads-wisp/config/<rig>.json, reference §6.2. */
export const wispConfigSchema = z.looseObject({
  rig: z.string().optional(),
  values: z.record(z.string(), z.unknown()).optional(),
  blocked: z.array(z.string()).optional(),
});
export type WispConfig = z.output<typeof wispConfigSchema>;

const restartPolicySchema = z.looseObject({
  initial_backoff: durationString.optional(),
  max_backoff: durationString.optional(),
  multiplier: z.number().min(1).optional(),
  stability_period: durationString.optional(),
  crash_loop_count: z.number().int().min(1).optional(),
  crash_loop_window: durationString.optional(),
  crash_loop_retry: durationString.optional(),
});

const watchdogSchema = z.looseObject({
  enabled: z.boolean().optional(),
  stale: durationString.optional(),
  very_stale: durationString.optional(),
  grace: durationString.optional(),
});

export const daemonOperationalSchema = z.looseObject({
  recovery_heartbeat_interval: durationString.optional(),
  deacon_grace_period: durationString.optional(),
  /** Boot is never started again sooner than this after its last run (reference [HEAD] #2084, 2 m). */
  boot_spawn_cooldown: durationString.optional(),
  max_lifecycle_message_age: durationString.optional(),
  stop_disabled: z.boolean().optional(),
  kill_grace_period: durationString.optional(),
  startup_timeout: durationString.optional(),
  death_poll_interval: durationString.optional(),
  reap_kick_interval: durationString.optional(),
  armed_respawn: z.boolean().optional(),
  gupp_timeout: durationString.optional(),
  notify_command: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
  notify_webhook: notifyWebhookSchema.optional(),
  restart: restartPolicySchema.optional(),
  spawn_budget: z
    .looseObject({ count: z.number().int().min(1).optional(), window: durationString.optional() })
    .optional(),
  lifecycle_request_rate: z
    .looseObject({ count: z.number().int().min(1).optional(), window: durationString.optional() })
    .optional(),
  mass_death_threshold: z.number().int().min(2).optional(),
  mass_death_window: durationString.optional(),
  mass_death_cooldown: durationString.optional(),
  watchdog: z.record(z.string(), watchdogSchema).optional(),
  log_max_size_mb: z.number().positive().optional(),
  /** How townd answers the start-up dialogs it knows (src/activity/profiles.ts). */
  agent_dialogs: z
    .looseObject({
      workspace_trust: z.boolean().optional(),
      custom_api_key: z.enum(["default", "use", "decline"]).optional(),
    })
    .optional(),
  /** An agent that exits this soon after its start with a known message failed to start (no crash). */
  start_failure_window: durationString.optional(),
  log_max_files: z.number().int().min(1).max(100).optional(),
  ...conductSchema,
  /** How long the store keeps mail, finished lifecycle requests and sent notices ("0": for ever). */
  retention: z
    .looseObject({
      mail: durationString.optional(),
      unread_mail: durationString.optional(),
      requests: durationString.optional(),
      notices: durationString.optional(),
    })
    .optional(),
});

/** settings/config.json (town) and <rig>/settings/config.json (rig overrides). */
export const settingsSchema = z.looseObject({
  type: z.string().optional(),
  version: z.number().optional(),
  default_agent: z.string().optional(),
  agents: z.record(z.string(), runtimeSchema).optional(),
  role_agents: z.record(z.string(), z.string()).optional(),
  operational: z.looseObject({ daemon: daemonOperationalSchema.optional() }).optional(),
  tmux: z.looseObject({ socket: z.string().min(1).optional() }).optional(),
  telemetry: telemetrySchema.optional(),
  /** The dashboard and /metrics listener; off unless `listen` is set (town settings only). */
  http: z.looseObject({ listen: listenAddress.optional() }).optional(),
});
export type SettingsFile = z.output<typeof settingsSchema>;

const timestamp = z.string();

/** daemon/state.json, reference §2. */
export const daemonStateSchema = z.looseObject({
  running: z.boolean(),
  pid: z.number().int(),
  started_at: timestamp,
  last_heartbeat: timestamp,
  heartbeat_count: z.number().int().min(0),
});
export type DaemonStateFile = z.output<typeof daemonStateSchema>;

/** deacon/heartbeat.json, reference §14. */
export const deaconHeartbeatSchema = z.looseObject({
  timestamp: timestamp,
  cycle: z.number().int(),
  last_action: z.string().optional(),
  healthy_agents: z.number().int().optional(),
  unhealthy_agents: z.number().int().optional(),
});
export type DeaconHeartbeat = z.output<typeof deaconHeartbeatSchema>;
