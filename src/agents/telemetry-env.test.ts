import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settingsSchema } from "../town/schemas.js";
import { parseIdentity } from "../town/identity.js";
import { agentEnv } from "./env.js";
import { otelEncode, otelPairs, telemetryEnv } from "./telemetry-env.js";

/** OpenTelemetry for agents: which variables an agent gets from `telemetry` settings or GT_OTEL_*. */

const WITNESS = agentEnv(parseIdentity("gastown/witness"), {
  townRoot: "/home/ann/gt",
  generation: "g1",
  session: "gt-gastown-witness",
});

/** OTEL_RESOURCE_ATTRIBUTES decoded the way OpenTelemetry's SDKs decode it. */
function decodePairs(text: string): [string, string][] {
  return text.split(",").map((pair) => {
    const [key = "", value = ""] = pair.split("=");
    return [decodeURIComponent(key), decodeURIComponent(value)];
  });
}

describe("telemetryEnv", () => {
  it("nothing configured, nothing set: an agent gets no telemetry variables", () => {
    assert.deepEqual(telemetryEnv(WITNESS, undefined, {}), {});
    assert.deepEqual(telemetryEnv(WITNESS, undefined, { GT_OTEL_METRICS_URL: "" }), {});
  });

  it("Gas Town's GT_OTEL_METRICS_URL and GT_OTEL_LOGS_URL in the daemon's environment turn it on", () => {
    const env = telemetryEnv(WITNESS, undefined, {
      GT_OTEL_METRICS_URL: "http://localhost:8428/opentelemetry/api/v1/push",
      GT_OTEL_LOGS_URL: "http://localhost:9428/insert/opentelemetry/v1/logs",
    });
    assert.deepEqual(env, {
      CLAUDE_CODE_ENABLE_TELEMETRY: "1",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://localhost:8428/opentelemetry/api/v1/push",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf",
      GT_OTEL_METRICS_URL: "http://localhost:8428/opentelemetry/api/v1/push",
      BD_OTEL_METRICS_URL: "http://localhost:8428/opentelemetry/api/v1/push",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://localhost:9428/insert/opentelemetry/v1/logs",
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/protobuf",
      GT_OTEL_LOGS_URL: "http://localhost:9428/insert/opentelemetry/v1/logs",
      BD_OTEL_LOGS_URL: "http://localhost:9428/insert/opentelemetry/v1/logs",
      OTEL_RESOURCE_ATTRIBUTES:
        "gt.town=gt,gt.rig=gastown,gt.role=witness,gt.actor=gastown/witness,gt.session=gt-gastown-witness,townd.identity=gastown/witness",
    });
  });

  it("settings: a collector endpoint, protocol, headers, intervals and what to log", () => {
    const env = telemetryEnv(
      WITNESS,
      {
        endpoint: "http://collector:4318",
        protocol: "grpc",
        headers: { Authorization: "Bearer a,b=c" },
        metric_export_interval: "10s",
        logs_export_interval: "2s",
        log_user_prompts: true,
        log_tool_details: true,
      },
      {},
    );
    assert.equal(env["CLAUDE_CODE_ENABLE_TELEMETRY"], "1");
    assert.equal(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://collector:4318");
    assert.equal(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc");
    assert.equal(env["OTEL_METRICS_EXPORTER"], "otlp");
    assert.equal(env["OTEL_LOGS_EXPORTER"], "otlp");
    assert.equal(env["OTEL_EXPORTER_OTLP_HEADERS"], "Authorization=Bearer%20a%2Cb%3Dc");
    assert.equal(env["OTEL_METRIC_EXPORT_INTERVAL"], "10000");
    assert.equal(env["OTEL_LOGS_EXPORT_INTERVAL"], "2000");
    assert.equal(env["OTEL_LOG_USER_PROMPTS"], "1");
    assert.equal(env["OTEL_LOG_TOOL_DETAILS"], "1");
    assert.equal(env["GT_OTEL_METRICS_URL"], undefined, "no Gas Town URL was given");
  });

  it("settings win over GT_OTEL_*, and `enabled: false` turns everything off", () => {
    const gt = { GT_OTEL_METRICS_URL: "http://from-env/m" };
    assert.equal(
      telemetryEnv(WITNESS, { metrics_url: "http://from-settings/m" }, gt)[
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
      ],
      "http://from-settings/m",
    );
    assert.deepEqual(telemetryEnv(WITNESS, { enabled: false }, gt), {});
    // An empty object turns it on with the exporters left to the environment: the flag and the names only.
    assert.deepEqual(Object.keys(telemetryEnv(WITNESS, {}, {})).sort(), [
      "CLAUDE_CODE_ENABLE_TELEMETRY",
      "OTEL_RESOURCE_ATTRIBUTES",
    ]);
  });

  it("resource attributes name a polecat's name too; extra ones come first and cannot rename the agent", () => {
    const polecat = agentEnv(parseIdentity("gastown/polecats/toast"), {
      townRoot: "/home/ann/my town",
      generation: "g2",
      session: "gt-gastown-toast",
    });
    const env = telemetryEnv(polecat, { resource_attributes: { team: "infra", "gt.role": "mayor" } }, {});
    assert.deepEqual(decodePairs(env["OTEL_RESOURCE_ATTRIBUTES"] ?? ""), [
      ["team", "infra"],
      ["gt.town", "my town"],
      ["gt.rig", "gastown"],
      ["gt.role", "polecat"],
      ["gt.actor", "gastown/polecats/toast"],
      ["gt.agent", "toast"],
      ["gt.session", "gt-gastown-toast"],
      ["townd.identity", "gastown/polecats/toast"],
    ]);
  });

  it("values are percent-encoded as the OpenTelemetry spec asks: no value can split a pair or start another", () => {
    assert.equal(otelEncode("a,b=c%d"), "a%2Cb%3Dc%25d");
    assert.equal(otelEncode('sp ace"q;s\\'), "sp%20ace%22q%3Bs%5C");
    assert.equal(otelEncode("ünï\n"), "%C3%BCn%C3%AF%0A");
    assert.equal(otelEncode("gastown/witness:1.2_x-y~"), "gastown/witness:1.2_x-y~", "baggage octets stay");
    const hostile = "x,gt.role=mayor";
    assert.deepEqual(decodePairs(otelPairs([["team", hostile]])), [["team", hostile]]);
  });

  it("settings/config.json's telemetry is validated with the rest", () => {
    assert.equal(settingsSchema.safeParse({ telemetry: { metrics_url: "ftp://x" } }).success, false);
    assert.equal(settingsSchema.safeParse({ telemetry: { protocol: "carrier-pigeon" } }).success, false);
    assert.equal(settingsSchema.safeParse({ telemetry: { metric_export_interval: "soon" } }).success, false);
    assert.equal(
      settingsSchema.safeParse({ telemetry: { endpoint: "http://collector:4318", protocol: "http/json" } })
        .success,
      true,
    );
  });
});
