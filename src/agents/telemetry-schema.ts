import { z } from "zod";
import { durationString } from "../town/schema-helpers.js";

function httpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

const url = z.string().refine(httpUrl, "must be an http:// or https:// URL");

/**
 * `telemetry` in settings/config.json (a rig's replaces the town's for its agents): where the agents' own
 * OpenTelemetry goes. Without it, Gas Town's GT_OTEL_METRICS_URL / GT_OTEL_LOGS_URL in the daemon's
 * environment turn it on, as they do for Gas Town's agents.
 */
export const telemetrySchema = z.looseObject({
  /** false: no telemetry variables at all, whatever the environment says. */
  enabled: z.boolean().optional(),
  /** An OTLP collector for both signals (OTEL_EXPORTER_OTLP_ENDPOINT). */
  endpoint: url.optional(),
  /** Per-signal endpoints, full URLs (GT_OTEL_METRICS_URL / GT_OTEL_LOGS_URL's meaning). */
  metrics_url: url.optional(),
  logs_url: url.optional(),
  protocol: z.enum(["grpc", "http/json", "http/protobuf"]).optional(),
  headers: z.record(z.string().min(1), z.string()).optional(),
  metric_export_interval: durationString.optional(),
  logs_export_interval: durationString.optional(),
  log_user_prompts: z.boolean().optional(),
  log_tool_details: z.boolean().optional(),
  resource_attributes: z.record(z.string().min(1), z.string()).optional(),
});

export type TelemetrySettings = z.output<typeof telemetrySchema>;
