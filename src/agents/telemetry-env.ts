import { basename } from "node:path";
import { parseDuration } from "../util/duration.js";
import type { TelemetrySettings } from "./telemetry-schema.js";

/**
 * The OpenTelemetry environment of an agent's process. Claude Code exports its metrics (tokens, cost,
 * sessions, lines of code) and events only when CLAUDE_CODE_ENABLE_TELEMETRY=1 and the standard OTEL_*
 * exporter variables are in its launch environment (a project's settings cannot set them), so townd puts
 * them there: from `telemetry` in the settings, else from Gas Town's GT_OTEL_METRICS_URL/GT_OTEL_LOGS_URL in
 * the daemon's environment, passed on (with bd's BD_OTEL_* twins) so `gt` and `bd` inside the agent export
 * to the same place. OTEL_RESOURCE_ATTRIBUTES names the town, rig, role and identity, in Gas Town's keys.
 * Pure: the daemon's environment comes in as `processEnv`. Empty when telemetry is not configured.
 */
export function telemetryEnv(
  agent: Readonly<Record<string, string>>,
  settings: TelemetrySettings | undefined,
  processEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  if (settings?.enabled === false) return {};
  const fromEnv = (key: string): string | undefined => {
    const value = processEnv[key];
    return value === undefined || value === "" ? undefined : value;
  };
  const metricsUrl = settings?.metrics_url ?? fromEnv("GT_OTEL_METRICS_URL");
  const logsUrl = settings?.logs_url ?? fromEnv("GT_OTEL_LOGS_URL");
  if (settings === undefined && metricsUrl === undefined && logsUrl === undefined) return {};
  // VictoriaMetrics and VictoriaLogs (Gas Town's stack) refuse OTLP JSON; protobuf is what every backend takes.
  const protocol = settings?.protocol ?? "http/protobuf";
  const env: Record<string, string> = { CLAUDE_CODE_ENABLE_TELEMETRY: "1" };
  if (settings?.endpoint !== undefined) {
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = settings.endpoint;
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol;
    env["OTEL_METRICS_EXPORTER"] = "otlp";
    env["OTEL_LOGS_EXPORTER"] = "otlp";
  }
  if (metricsUrl !== undefined) {
    env["OTEL_METRICS_EXPORTER"] = "otlp";
    env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = metricsUrl;
    env["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] = protocol;
    env["GT_OTEL_METRICS_URL"] = metricsUrl;
    env["BD_OTEL_METRICS_URL"] = metricsUrl;
  }
  if (logsUrl !== undefined) {
    env["OTEL_LOGS_EXPORTER"] = "otlp";
    env["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"] = logsUrl;
    env["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"] = protocol;
    env["GT_OTEL_LOGS_URL"] = logsUrl;
    env["BD_OTEL_LOGS_URL"] = logsUrl;
  }
  if (settings?.headers !== undefined && Object.keys(settings.headers).length > 0)
    env["OTEL_EXPORTER_OTLP_HEADERS"] = otelPairs(Object.entries(settings.headers));
  if (settings?.metric_export_interval !== undefined)
    env["OTEL_METRIC_EXPORT_INTERVAL"] = String(parseDuration(settings.metric_export_interval));
  if (settings?.logs_export_interval !== undefined)
    env["OTEL_LOGS_EXPORT_INTERVAL"] = String(parseDuration(settings.logs_export_interval));
  if (settings?.log_user_prompts === true) env["OTEL_LOG_USER_PROMPTS"] = "1";
  if (settings?.log_tool_details === true) env["OTEL_LOG_TOOL_DETAILS"] = "1";
  env["OTEL_RESOURCE_ATTRIBUTES"] = otelPairs(resourceAttributes(agent, settings?.resource_attributes ?? {}));
  return env;
}

/** The agent's own attributes, after the settings' extra ones (which cannot rename the agent). */
function resourceAttributes(
  agent: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): [string, string][] {
  const own: [string, string | undefined][] = [
    ["gt.town", agent["GT_TOWN_ROOT"] === undefined ? undefined : basename(agent["GT_TOWN_ROOT"])],
    ["gt.rig", agent["GT_RIG"]],
    ["gt.role", agent["GT_ROLE"]],
    ["gt.actor", agent["BD_ACTOR"]],
    ["gt.agent", agent["GT_POLECAT"] ?? agent["GT_CREW"]],
    ["gt.session", agent["TOWND_SESSION"]],
    ["townd.identity", agent["TOWND_IDENTITY"]],
  ];
  const mine = own.flatMap(([key, value]) =>
    value === undefined || value === "" ? [] : [[key, value] as [string, string]],
  );
  const taken = new Set(mine.map(([key]) => key));
  return [...Object.entries(extra).filter(([key]) => !taken.has(key)), ...mine];
}

/**
 * `key=value,key=value` as the OpenTelemetry environment spec reads OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS: W3C Baggage's octets are kept, everything else is percent-encoded as UTF-8,
 * and so are `%`, `,` and `=` themselves, so no value (a rig name, a header's token) can end its pair early,
 * start another, or be decoded into something else.
 */
export function otelPairs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([key, value]) => `${otelEncode(key)}=${otelEncode(value)}`).join(",");
}

export function otelEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    // baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E; minus '%' and '=' (the spec's).
    const kept =
      byte >= 0x21 &&
      byte <= 0x7e &&
      byte !== 0x22 &&
      byte !== 0x2c &&
      byte !== 0x3b &&
      byte !== 0x5c &&
      byte !== 0x25 &&
      byte !== 0x3d;
    out += kept ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
