import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetrics,
} from "prom2javascript";
import { makeTempDir } from "../../test/helpers/tmp.js";
import type { TownEvent } from "../store/events.js";
import type { AgentStatusView, StatusDocument } from "../web/feed.js";
import { TownMetrics } from "./town-metrics.js";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();

function agent(fields: Partial<AgentStatusView> & { identity: string; role: string }): AgentStatusView {
  return {
    rig: null,
    state: "running",
    generation: `gen-${fields.identity.replace("/", "-")}`,
    started_at: iso(NOW - 60_000),
    last_death_at: null,
    restarts_auto: 0,
    restarts_manual: 0,
    activity: null,
    ...fields,
  };
}

function doc(agents: AgentStatusView[]): StatusDocument {
  return { daemon: {}, tmux: { socket: null }, agents_updated_at: null, agents, problems: [] };
}

let nextId = 1;
function event(type: string, data: Record<string, unknown> = {}): TownEvent {
  return { id: nextId++, ts: iso(NOW), type, identity: null, generation: null, reason: "", data };
}

async function parse(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split("\n")[Symbol.iterator]());
}

function value(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number | undefined {
  const samples = (metrics[name]?.data ?? []) as PromData[];
  return samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe("TownMetrics", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("metrics-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("reads agents by state, activity, walls and needs-you from the statuses when scraped", async () => {
    const status = doc([
      agent({
        identity: "deacon",
        role: "deacon",
        activity: { state: "idle", since: iso(NOW), detail: "", resets_at: null, limit: null },
      }),
      agent({
        identity: "r1/witness",
        role: "witness",
        activity: {
          state: "rate-limited",
          since: iso(NOW),
          detail: "",
          resets_at: iso(NOW + 3_600_000),
          limit: "session",
        },
      }),
      agent({
        identity: "r1/refinery",
        role: "refinery",
        activity: { state: "rate-limited", since: iso(NOW), detail: "", resets_at: null, limit: "weekly" },
      }),
      agent({ identity: "mayor", role: "mayor", state: "disabled", generation: null }),
    ]);
    const metrics = new TownMetrics({
      status: () => status,
      statuslineDir: join(tmp.dir, "none"),
      now: () => NOW,
    });
    const scraped = await parse(await metrics.text());
    assert.equal(value(scraped, "townd_agents", { role: "deacon", state: "running" }), 1);
    assert.equal(value(scraped, "townd_agents", { role: "mayor", state: "disabled" }), 1);
    assert.equal(value(scraped, "townd_agents_activity", { role: "witness", activity: "rate-limited" }), 1);
    assert.equal(value(scraped, "townd_agents_walled", { limit: "session" }), 1);
    assert.equal(value(scraped, "townd_agents_walled", { limit: "weekly" }), 1);
    assert.equal(
      value(scraped, "townd_agent_wall_reset_timestamp_seconds", { agent: "r1/witness", limit: "session" }),
      (NOW + 3_600_000) / 1000,
    );
    assert.equal(
      value(scraped, "townd_agent_wall_reset_timestamp_seconds", { agent: "r1/refinery" }),
      undefined,
      "an unknown reset time is not invented",
    );
    assert.equal(value(scraped, "townd_needs_you", { kind: "wall" }), 2);
    assert.ok((value(scraped, "process_resident_memory_bytes") ?? 0) > 0);
  });

  it("counts lifecycle results and alerts from events, deaths and restarts from status changes", async () => {
    let status = doc([agent({ identity: "deacon", role: "deacon" })]);
    const metrics = new TownMetrics({
      status: () => status,
      statuslineDir: join(tmp.dir, "none"),
      now: () => NOW,
    });
    metrics.observe({ events: [], status });
    metrics.observe({
      events: [
        event("lifecycle_claimed"),
        event("lifecycle_done"),
        event("lifecycle_done"),
        event("lifecycle_rejected"),
        event("crash_loop", { agents: ["deacon"] }),
        event("needs_human", { agents: ["deacon"], generation: "g" }),
        event("decision", { action: "respawn" }),
        event("gupp_violation"),
      ],
      status,
    });
    status = doc([
      agent({
        identity: "deacon",
        role: "deacon",
        state: "starting",
        generation: "g2",
        started_at: iso(NOW - 2000),
        last_death_at: iso(NOW - 5000),
        restarts_auto: 1,
      }),
    ]);
    metrics.observe({ events: [], status });
    metrics.observePass(0.02);
    const scraped = await parse(await metrics.text());
    assert.equal(value(scraped, "townd_lifecycle_requests_total", { result: "done" }), 2);
    assert.equal(value(scraped, "townd_lifecycle_requests_total", { result: "rejected" }), 1);
    assert.equal(value(scraped, "townd_lifecycle_requests_total", { result: "claimed" }), undefined);
    assert.equal(value(scraped, "townd_alerts_total", { kind: "crash_loop" }), 1);
    assert.equal(value(scraped, "townd_alerts_total", { kind: "needs_human" }), 1);
    assert.equal(value(scraped, "townd_alerts_total", { kind: "decision" }), undefined);
    assert.equal(value(scraped, "townd_agent_deaths_total", { role: "deacon" }), 1);
    assert.equal(value(scraped, "townd_agent_restarts_total", { role: "deacon", kind: "auto" }), 1);
    assert.equal(value(scraped, "townd_agent_restarts_total", { role: "deacon", kind: "manual" }), 0);
    const respawn = (scraped["townd_respawn_delay_seconds"]?.data ?? []) as PromHistogramData[];
    assert.deepEqual(
      respawn.map((h) => [h.labels, h.count, h.sum]),
      [[{ role: "deacon" }, 1, 3]],
    );
    const passes = (scraped["townd_pass_duration_seconds"]?.data ?? []) as PromHistogramData[];
    assert.equal(passes[0]?.count, 1);
  });

  it("adds the statuslines' cost and tokens as they grow", async () => {
    const dir = join(tmp.dir, "statusline");
    mkdirSync(dir, { recursive: true });
    const status = doc([agent({ identity: "deacon", role: "deacon", generation: "g1" })]);
    const write = (cost: number, input: number, output: number): void => {
      writeFileSync(
        join(dir, "g1.json"),
        JSON.stringify({
          cost: { total_cost_usd: cost },
          context_window: { total_input_tokens: input, total_output_tokens: output },
        }),
      );
    };
    const metrics = new TownMetrics({ status: () => status, statuslineDir: dir, now: () => NOW });
    write(0.5, 1000, 100);
    await metrics.text();
    write(0.75, 1600, 150);
    const scraped = await parse(await metrics.text());
    assert.equal(value(scraped, "townd_agent_cost_usd_total", { role: "deacon" }), 0.75);
    assert.equal(value(scraped, "townd_agent_tokens_total", { role: "deacon", type: "input" }), 1600);
    assert.equal(value(scraped, "townd_agent_tokens_total", { role: "deacon", type: "output" }), 150);
  });

  it("keeps each daemon's counters apart (a registry of its own, not prom-client's global one)", async () => {
    const status = doc([agent({ identity: "deacon", role: "deacon" })]);
    const one = new TownMetrics({ status: () => status, statuslineDir: tmp.dir, now: () => NOW });
    const two = new TownMetrics({ status: () => status, statuslineDir: tmp.dir, now: () => NOW });
    one.observe({ events: [event("lifecycle_done")], status });
    assert.equal(
      value(await parse(await two.text()), "townd_lifecycle_requests_total", { result: "done" }),
      undefined,
    );
  });
});
