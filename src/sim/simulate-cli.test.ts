import assert from "node:assert/strict";
import { AHEAD_OF_THE_DAEMON } from "../policy/arming.js";
import { describe, it } from "node:test";
import { runCli } from "../cli/cli.js";
import { SCENARIOS } from "./scenarios.js";

async function simulate(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["simulate", ...args], {
    env: {},
    cwd: "/",
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

describe("townd simulate", () => {
  it("--list names every scenario with a description", async () => {
    const { code, out } = await simulate("--list");
    assert.equal(code, 0);
    for (const scenario of SCENARIOS) {
      assert.ok(
        out.some((line) => line.startsWith(scenario.name) && line.includes(scenario.description)),
        scenario.name,
      );
    }
  });

  it("--json reports armed_respawns; --no-armed-respawn turns pre-armed respawns off", async () => {
    const on = await simulate("mass-death", "--json");
    const off = await simulate("mass-death", "--json", "--no-armed-respawn");
    assert.equal(on.code, 0);
    assert.equal(off.code, 0);
    const armed = (out: string[]): unknown =>
      (JSON.parse(out.join("\n")) as { armed_respawns: unknown }).armed_respawns;
    assert.equal(armed(on.out), AHEAD_OF_THE_DAEMON, "tmux answers one death of the mass death");
    assert.equal(armed(off.out), 0);
  });

  it("an unknown scenario is a one-line error listing the scenarios, exit 1", async () => {
    const { code, out, err } = await simulate("no-such-scenario");
    assert.equal(code, 1);
    assert.deepEqual(out, []);
    assert.equal(err.length, 1);
    assert.match(
      err[0] ?? "",
      /^townd: Unknown scenario "no-such-scenario"; scenarios: healthy-version-title, /,
    );
  });

  it("--json reports the run; --days and --agents are honoured", async () => {
    const { code, out } = await simulate("healthy-version-title", "--days", "0.5", "--agents", "7", "--json");
    assert.equal(code, 0);
    const report = JSON.parse(out.join("\n")) as Record<string, unknown>;
    for (const key of [
      "scenario",
      "days",
      "agents",
      "spawns",
      "restarts",
      "kills",
      "nudges",
      "alerts",
      "violations",
      "per_agent",
      "wall_ms",
      "wall_kills",
      "wake_delay_p95_s",
      "alerts_by_kind",
    ]) {
      assert.ok(key in report, key);
    }
    assert.equal(report["days"], 0.5);
    assert.equal(report["agents"], 7);
    assert.equal(report["spawns"], 7);
    assert.deepEqual(report["violations"], []);
  });

  it("the text report has a per-agent table, totals and the invariants", async () => {
    const { code, out } = await simulate("deacon-hang", "--days", "0.1");
    assert.equal(code, 0);
    assert.match(out.find((l) => l.startsWith("AGENT")) ?? "", /SPAWNS\s+RESTARTS\s+KILLS\s+NUDGES/);
    assert.match(out.find((l) => l.startsWith("deacon ")) ?? "", /^deacon\s+2\s+1\s+1\s+1\s/);
    assert.ok(
      out.some((l) => l.startsWith("TOTAL")),
      "totals",
    );
    assert.ok(
      out.some((l) => /^\s+I5\s+n\/a\s+not applicable/.test(l)),
      "I5 not applicable",
    );
  });

  it("usage-wall --json: wall kills, the wake delay and alerts by kind; the text report sums up the walls", async () => {
    const json = await simulate("usage-wall", "--days", "1", "--agents", "9", "--json");
    assert.equal(json.code, 0);
    const report = JSON.parse(json.out.join("\n")) as Record<string, unknown>;
    assert.equal(report["wall_kills"], 0);
    assert.equal(typeof report["wake_delay_p95_s"], "number");
    assert.deepEqual(report["alerts_by_kind"], { usage_limit: 1, usage_limit_lifted: 1 });
    const text = await simulate("usage-wall", "--days", "1", "--agents", "9");
    assert.match(
      text.out.find((l) => l.startsWith("Usage-limit walls:")) ?? "",
      /^Usage-limit walls: 9 agent walls, 0 wall kills, 0 never woken; wake delay after the reset p50 \S+, p95 \S+, max \S+$/,
    );
    assert.match(text.out.find((l) => l.startsWith("AGENT")) ?? "", /NUDGES\s+KEYS\s+EXITS/);
  });

  it("exits 3 exactly when an invariant was violated", async () => {
    const { code, out, err } = await simulate("instant-crash", "--days", "0.1", "--json");
    const report = JSON.parse(out.join("\n")) as { violations: unknown[] };
    assert.equal(code, report.violations.length > 0 ? 3 : 0);
    if (report.violations.length > 0) assert.match(err[0] ?? "", /invariant violation/);
  });

  it("rejects a bad --days", async () => {
    assert.equal((await simulate("slow-start", "--days", "0")).code, 1);
    assert.equal((await simulate("slow-start", "--agents", "2.5")).code, 1);
  });
});
