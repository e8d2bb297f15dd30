import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetric,
  type PromMetrics,
} from "prom2javascript";
import { REPO_ROOT, createSupervisedTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";
import { assertOneLineError } from "../operate/_helpers.js";
import { agentPid, freePort, httpGet, startDashboardTown, type DashboardTown } from "./_helpers.js";

/**
 * /metrics (README "Metrics") on the dashboard's listener of the BUILT daemon supervising a real Deacon on
 * a private tmux server: the text parses with a Prometheus text-format parser (prom2javascript, which also
 * checks each histogram's +Inf bucket against its count), every documented family is
 * there with its type, and the numbers follow what happens to the agent — a kill -9 (a death, an automatic
 * restart, a death → respawn delay, a spawn → ready time), an operator restart and a lifecycle request.
 */

const FAMILIES: Readonly<Record<string, string>> = {
  townd_agents: "gauge",
  townd_agents_activity: "gauge",
  townd_agents_walled: "gauge",
  townd_agent_wall_reset_timestamp_seconds: "gauge",
  townd_needs_you: "gauge",
  townd_agent_deaths_total: "counter",
  townd_agent_restarts_total: "counter",
  townd_respawn_delay_seconds: "histogram",
  townd_startup_seconds: "histogram",
  townd_pass_duration_seconds: "histogram",
  townd_lifecycle_requests_total: "counter",
  townd_alerts_total: "counter",
  townd_agent_cost_usd_total: "counter",
  townd_agent_tokens_total: "counter",
};

type Labels = Record<string, string>;

const matches = (labels: Labels, wanted: Labels): boolean =>
  Object.entries(wanted).every(([key, value]) => labels[key] === value);

class Scrape {
  readonly families: PromMetrics;
  constructor(families: PromMetrics) {
    this.families = families;
  }

  family(name: string): PromMetric {
    const family = this.families[name];
    assert.ok(family !== undefined, `family ${name} in /metrics`);
    return family;
  }

  /** A counter's or gauge's value (0 when the labelled series is absent). */
  value(name: string, labels: Labels = {}): number {
    const samples = this.family(name).data as PromData[];
    return samples.find((sample) => matches(sample.labels, labels))?.value ?? 0;
  }

  /** A histogram's count and sum (0 when absent). */
  histogram(name: string, labels: Labels = {}): { count: number; sum: number } {
    const samples = this.family(name).data as PromHistogramData[];
    const sample = samples.find((h) => matches(h.labels, labels));
    return { count: sample?.count ?? 0, sum: sample?.sum ?? 0 };
  }
}

describe("/metrics", { timeout: 90_000 }, () => {
  let dash: DashboardTown;
  let town: SupervisedTown;

  const scrape = async (): Promise<Scrape> => {
    const answer = await httpGet(`${dash.base}metrics`, { authorization: `Bearer ${dash.token()}` });
    assert.equal(answer.status, 200, answer.text);
    assert.match(String(answer.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    return new Scrape(await getMetricsFromIterator(answer.text.split("\n")[Symbol.iterator]()));
  };

  before(async () => {
    dash = await startDashboardTown();
    town = dash.town;
    await town.waitFor((s) => town.agent(s, "deacon").state === "running", 20_000, "the Deacon running");
  });
  after(async () => {
    await town.cleanup();
  });

  it("needs the token, as a Bearer header or once as ?token=", async () => {
    const missing = await httpGet(`${dash.base}metrics`);
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers["www-authenticate"]), /^Bearer/);
    assert.equal((await httpGet(`${dash.base}metrics`, { authorization: "Bearer nope" })).status, 401);
    assert.equal((await httpGet(`${dash.base}metrics?token=${"x".repeat(43)}`)).status, 401);
    assert.equal((await httpGet(`${dash.base}metrics?token=${dash.token()}`)).status, 200);
    const file = statSync(join(town.root, "daemon", "dashboard.token"));
    assert.equal((file.mode & 0o777).toString(8), "600", "the token file is owner-only");
  });

  it("parses as Prometheus text, with every documented family and its type", async () => {
    const metrics = await scrape();
    for (const [name, type] of Object.entries(FAMILIES)) assert.equal(metrics.family(name).type, type, name);
    assert.equal(metrics.value("townd_agents", { role: "deacon", state: "running" }), 1);
    assert.equal(metrics.value("townd_agents", { role: "mayor", state: "disabled" }), 1);
    assert.equal(metrics.value("townd_agent_deaths_total", { role: "deacon" }), 0);
    assert.ok(metrics.histogram("townd_pass_duration_seconds").count > 0, "passes are timed");
    assert.ok(metrics.value("process_resident_memory_bytes") > 0, "the process's own metrics");
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    for (const name of Object.keys(metrics.families))
      assert.ok(readme.includes(`\`${name}\``), `README.md names the metric ${name}`);
  });

  it("follows a kill -9: one death, one automatic restart, a respawn delay and a start-up time", async () => {
    const before = await scrape();
    const startups = before.histogram("townd_startup_seconds", { role: "deacon" }).count;
    process.kill(await agentPid(town, "deacon"), "SIGKILL");
    await town.waitFor(
      (s) => town.agent(s, "deacon").restarts_auto === 1 && town.agent(s, "deacon").state === "running",
      20_000,
      "the Deacon restarted and running",
    );
    let last: Scrape | undefined;
    const metrics = await until(
      "the metrics to count the start-up",
      async () => {
        last = await scrape();
        return last.histogram("townd_startup_seconds", { role: "deacon" }).count > startups
          ? last
          : undefined;
      },
      10_000,
      () => `startups before: ${startups}; now: ${JSON.stringify(last?.family("townd_startup_seconds"))}`,
    );
    assert.equal(metrics.value("townd_agent_deaths_total", { role: "deacon" }), 1);
    assert.equal(metrics.value("townd_agent_restarts_total", { role: "deacon", kind: "auto" }), 1);
    assert.equal(metrics.value("townd_agent_restarts_total", { role: "deacon", kind: "manual" }), 0);
    const respawn = metrics.histogram("townd_respawn_delay_seconds", { role: "deacon" });
    assert.equal(respawn.count, 1);
    assert.ok(respawn.sum > 0 && respawn.sum < 60, `a first death is respawned at once (${respawn.sum} s)`);
    assert.equal(metrics.histogram("townd_startup_seconds", { role: "deacon" }).count, startups + 1);
  });

  it("follows an operator restart and a lifecycle request, and counts the statusline's cost and tokens", async () => {
    const restart = await town.townd(["restart", "deacon"]);
    assert.equal(restart.code, 0, restart.stderr);
    const cycle = await town.townd(["request", "cycle", "--as", "deacon"]);
    assert.equal(cycle.code, 0, cycle.stderr);
    const metrics = await until(
      "the cycle request to be counted",
      async () => {
        const m = await scrape();
        return m.value("townd_lifecycle_requests_total", { result: "done" }) >= 1 ? m : undefined;
      },
      20_000,
    );
    assert.equal(metrics.value("townd_agent_restarts_total", { role: "deacon", kind: "manual" }), 2);
    assert.equal(metrics.value("townd_agent_deaths_total", { role: "deacon" }), 1, "a restart is no death");
    assert.equal(metrics.value("townd_lifecycle_requests_total", { result: "done" }), 1);
    // The simulated Claude's statusline reports a cost and tokens for each turn, as Claude's does.
    assert.ok(metrics.value("townd_agent_cost_usd_total", { role: "deacon" }) > 0, "cost");
    assert.ok(
      metrics.value("townd_agent_tokens_total", { role: "deacon", type: "input" }) > 0,
      "input tokens",
    );
    assert.ok(
      metrics.value("townd_agent_tokens_total", { role: "deacon", type: "output" }) > 0,
      "output tokens",
    );
  });

  it("`townd dashboard --json` gives the URLs and says the daemon serves them", async () => {
    const run = await town.townd(["dashboard", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const answer = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(answer["url"], dash.base);
    assert.equal(answer["login_url"], `${dash.base}?token=${dash.token()}`);
    assert.equal(answer["daemon_running"], true);
    assert.equal(answer["serving"], true);
    assert.equal(await dash.loginUrl(), answer["login_url"]);
  });

  it("moves to a new http.listen and stops without it, with no daemon restart", async () => {
    const pid = town.daemonPid();
    const port = await freePort();
    const moved = `http://127.0.0.1:${port}/`;
    const settings = town.readJson("settings/config.json");
    const auth = { authorization: `Bearer ${dash.token()}` };
    const answers = (url: string): Promise<number> =>
      httpGet(`${url}metrics`, auth).then(
        (answer) => answer.status,
        () => 0,
      );
    town.writeJson("settings/config.json", { ...settings, http: { listen: `127.0.0.1:${port}` } });
    assert.equal((await town.townd(["reload"])).code, 0);
    await until("the new address to answer", async () => (await answers(moved)) === 200, 10_000);
    assert.equal(await answers(dash.base), 0, "the old address is closed");
    const { http: _off, ...without } = settings;
    town.writeJson("settings/config.json", without);
    assert.equal((await town.townd(["reload"])).code, 0);
    await until("the listener to close", async () => (await answers(moved)) === 0, 10_000);
    assert.equal(town.daemonPid(), pid, "the same daemon");
  });
});

describe("`townd dashboard` without a usable http.listen", { timeout: 30_000 }, () => {
  let town: SupervisedTown;
  before(async () => {
    town = await createSupervisedTown();
  });
  after(async () => {
    await town.cleanup();
  });

  it("says the dashboard is off, and how to turn it on, in one line", async () => {
    assertOneLineError(await town.townd(["dashboard"]), /dashboard is off: set "http": \{"listen"/, "off");
  });

  it("refuses an invalid http.listen naming the file and the field, in `dashboard` and `start`", async () => {
    const settings = town.readJson("settings/config.json");
    town.writeJson("settings/config.json", { ...settings, http: { listen: "127.0.0.1:99999" } });
    const pattern = /settings\/config\.json: field "http\.listen": port 99999 is outside 1–65535/;
    assertOneLineError(await town.townd(["dashboard", "--url"]), pattern, "dashboard");
    assertOneLineError(await town.townd(["start"]), pattern, "start");
    town.writeJson("settings/config.json", { ...settings, http: { listen: "::1:7420" } });
    assertOneLineError(await town.townd(["dashboard"]), /must be in brackets/, "bare IPv6");
  });
});
