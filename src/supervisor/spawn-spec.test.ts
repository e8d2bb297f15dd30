import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TownConfig } from "../town/config.js";
import { parseIdentity } from "../town/identity.js";
import type { SettingsFile } from "../town/schemas.js";
import { daemonSettings } from "../town/settings.js";
import { spawnSpec } from "./spawn-spec.js";

/** A spawn's environment: the town's telemetry, a rig's own in its place, a runtime's env over both. */

function config(settings: SettingsFile, rig?: SettingsFile): TownConfig {
  return {
    settings,
    daemon: daemonSettings(settings),
    patrols: undefined,
    rigs: { version: 1, rigs: { r1: {}, r2: {} } },
    wisp: new Map(),
    rigSettings: new Map([
      ["r1", rig],
      ["r2", undefined],
    ]),
  };
}

const TOWN: SettingsFile = {
  default_agent: "plain",
  agents: { plain: { command: "/bin/true", env: { OTEL_METRIC_EXPORT_INTERVAL: "5000" } } },
  telemetry: { metrics_url: "http://town-metrics/push", metric_export_interval: "60s" },
};

function env(identity: string, rig?: SettingsFile): Readonly<Record<string, string>> {
  const id = parseIdentity(identity);
  return spawnSpec(id, "s", "g1", config(TOWN, rig), "/nonexistent/town").env;
}

describe("spawnSpec and telemetry", () => {
  it("every agent gets the town's telemetry; the runtime's own env wins over it", () => {
    const deacon = env("deacon");
    assert.equal(deacon["CLAUDE_CODE_ENABLE_TELEMETRY"], "1");
    assert.equal(deacon["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"], "http://town-metrics/push");
    assert.equal(deacon["OTEL_METRIC_EXPORT_INTERVAL"], "5000", "the runtime's env is more specific");
    assert.equal(deacon["TOWND_IDENTITY"], "deacon");
    assert.match(deacon["OTEL_RESOURCE_ATTRIBUTES"] ?? "", /gt\.role=deacon/);
  });

  it("a rig's telemetry replaces the town's for that rig's agents only", () => {
    const rig: SettingsFile = { telemetry: { enabled: false } };
    assert.equal(env("r1/witness", rig)["CLAUDE_CODE_ENABLE_TELEMETRY"], undefined);
    assert.equal(env("r2/witness", rig)["CLAUDE_CODE_ENABLE_TELEMETRY"], "1");
  });
});
