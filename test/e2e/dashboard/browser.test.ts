import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchHeadless } from "../../helpers/browser.js";
import { storeEvents } from "../../helpers/store.js";
import type { SupervisedTown } from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";
import { agentPid, httpGet, startDashboardTown, typeAt, type DashboardTown } from "./_helpers.js";

/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core, against the BUILT
 * daemon supervising a town of simulated agents (the Deacon, rig r1's Witness and Refinery) on a private
 * tmux server. One browser for the whole file; the steps build on each other in order.
 */

const AGENTS = ["deacon", "mayor", "r1/witness", "r1/refinery"];

describe("the dashboard in a browser", { timeout: 120_000 }, () => {
  let dash: DashboardTown;
  let town: SupervisedTown;
  let browser: Browser;
  /** What before() started, stopped again in after() even when the other half failed to start. */
  const started: (() => Promise<void>)[] = [];
  let context: BrowserContext;
  let page: Page;

  const row = (identity: string) => page.locator(`tr.agent[data-agent="${identity}"]`);
  const cell = (identity: string, name: string) => row(identity).locator(`td.${name}`);

  before(async () => {
    const [made, launched] = await Promise.allSettled([
      startDashboardTown({ rigs: ["r1"] }),
      launchHeadless(),
    ]);
    if (launched.status === "fulfilled") {
      browser = launched.value;
      started.push(() => browser.close());
    }
    if (made.status === "fulfilled") {
      dash = made.value;
      town = dash.town;
      started.push(() => town.cleanup());
    }
    for (const result of [made, launched]) if (result.status === "rejected") throw result.reason;
    await town.waitFor(
      (s) => s.agents.filter((a) => a.state === "running").length === 3,
      30_000,
      "the Deacon, Witness and Refinery running",
    );
  });
  after(async () => {
    for (const stop of started) await stop();
  });

  it("refuses a missing or wrong token: the page, its API, its stream and /metrics", async () => {
    const stranger = await browser.newContext();
    try {
      const visitor = await stranger.newPage();
      const missing = await visitor.goto(dash.base);
      assert.equal(missing?.status(), 401);
      assert.match(await visitor.locator("body").innerText(), /missing token[\s\S]*townd dashboard --url/);
      const wrong = await visitor.goto(`${dash.base}?token=${"A".repeat(43)}`);
      assert.equal(wrong?.status(), 401);
      assert.match(await visitor.locator("body").innerText(), /wrong token/);
      assert.equal((await stranger.cookies()).length, 0, "no cookie for a wrong token");
      // A forged cookie is no better.
      await stranger.addCookies([
        { name: `townd_dashboard_${new URL(dash.base).port}`, value: "forged", url: dash.base },
      ]);
      for (const path of ["", "app.js", "api/state", "api/stream", "api/why?agent=deacon", "metrics"])
        assert.equal((await visitor.request.get(`${dash.base}${path}`)).status(), 401, `GET /${path}`);
      const action = await visitor.request.post(`${dash.base}api/agents/restart`, {
        data: { agent: "deacon" },
      });
      assert.equal(action.status(), 401, "an action");
    } finally {
      await stranger.close();
    }
    assert.equal(town.agent(await town.status(), "deacon").restarts, 0, "nothing was restarted");
  });

  it("signs in with `townd dashboard --url` and lists every agent with its role, rig and state", async () => {
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await page.goto(await dash.loginUrl());
    assert.equal(page.url(), dash.base, "the token has left the address bar");
    const [cookie] = await context.cookies();
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    await page.locator("#connection[data-state='live']").waitFor({ timeout: 10_000 });
    await until(
      "every agent's row",
      async () => (await page.locator("tr.agent").count()) === AGENTS.length,
      10_000,
    );
    for (const identity of AGENTS) assert.equal(await row(identity).count(), 1, identity);
    assert.equal(await cell("r1/witness", "role").innerText(), "witness");
    assert.equal(await cell("r1/witness", "rig").innerText(), "r1");
    for (const identity of ["deacon", "r1/witness", "r1/refinery"])
      assert.equal(await row(identity).getAttribute("data-state"), "running", identity);
    assert.equal(await row("mayor").getAttribute("data-state"), "disabled");
    assert.match(await page.locator("#town").innerText(), /\S/, "the town's name");
    assert.equal(await page.locator("#needs-count").innerText(), "0");
    assert.ok((await page.locator("#events li").count()) > 0, "past events are listed");
  });

  it("shows a killed agent's row change and recover without a reload, and its dead pane in why", async () => {
    // Every state the row shows is recorded in the page, so a short-lived one is not missed. (In-page code
    // is given as text: this project's TypeScript has no DOM types.)
    await page.evaluate(`
      window.seen = [];
      new MutationObserver(() => {
        const state = document.querySelector('tr.agent[data-agent="r1/witness"]')?.dataset.state;
        if (state && window.seen.at(-1) !== state) window.seen.push(state);
      }).observe(document.querySelector("#agents tbody"), { childList: true, subtree: true });
    `);
    let loads = 0;
    page.on("load", () => (loads += 1));
    process.kill(await agentPid(town, "r1/witness"), "SIGKILL");
    await page
      .locator('tr.agent[data-agent="r1/witness"][data-state="running"] td.restarts', { hasText: /^1$/ })
      .waitFor({ timeout: 20_000 });
    const seen = await page.evaluate<string[]>("window.seen");
    assert.ok(
      seen.some((state) => state !== "running"),
      `the row left "running" before it came back: ${seen.join(" → ")}`,
    );
    assert.equal(loads, 0, "the page was never reloaded");
    assert.match(await cell("r1/witness", "last-exit").innerText(), /pane died|exit/);
    assert.match(await page.locator("#events").innerText(), /r1\/witness/);
    await row("r1/witness").locator("button[data-why]").click();
    await page.locator("#why-pane:not([hidden])").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#why-agent").innerText(), "r1/witness");
    assert.match(await page.locator("#why-pane-lines").innerText(), /\S/, "the dead pane's last lines");
    assert.match(await page.locator("#why-facts").innerText(), /1 automatic \/ 0 manual/);
  });

  it("counts a usage-limit wall under 'needs you' while it lasts", async () => {
    await typeAt(
      town,
      "hq-deacon",
      `/sim hook StopFailure {"error":"rate_limit","last_assistant_message":"You've hit your session limit"}`,
    );
    await page.locator("#needs-count", { hasText: "1" }).waitFor({ timeout: 15_000 });
    assert.match(await page.locator("#needs-list").innerText(), /deacon usage limit/);
    assert.equal(await cell("deacon", "activity").getAttribute("data-activity"), "rate-limited");
    assert.match(await cell("deacon", "hold").innerText(), /wall/);
    await typeAt(town, "hq-deacon", "/sim hook Stop {}");
    await page.locator("#needs-count", { hasText: "0" }).waitFor({ timeout: 15_000 });
  });

  it("restarts an agent and cycles another from their buttons, through the CLI's paths", async () => {
    const restart = row("r1/refinery").locator("button[data-action='restart']");
    await restart.click();
    assert.equal(await restart.innerText(), "Restart?", "a first click only arms it");
    assert.equal(town.agent(await town.status(), "r1/refinery").restarts_manual, 0);
    await restart.click();
    await page.locator("#toast", { hasText: "✓ r1/refinery: respawn" }).waitFor({ timeout: 20_000 });
    await town.waitFor(
      (s) =>
        town.agent(s, "r1/refinery").restarts_manual === 1 &&
        town.agent(s, "r1/refinery").state === "running",
      20_000,
      "the Refinery restarted by hand",
    );
    await cell("r1/refinery", "restarts").filter({ hasText: "1" }).waitFor({ timeout: 10_000 });

    const cycle = row("deacon").locator("button[data-action='cycle']");
    await cycle.click();
    await cycle.click();
    await page.locator("#toast", { hasText: "Requested cycle of deacon" }).waitFor({ timeout: 10_000 });
    await page.locator("#events li.type-lifecycle_done", { hasText: "cycle" }).waitFor({ timeout: 20_000 });
    // The cycle went the way `townd request cycle` goes: lifecycle mail, claimed and done.
    const done = storeEvents(town.root).filter((e) => e.type === "lifecycle_done" && e.identity === "deacon");
    assert.equal(done.length, 1);
    assert.equal(town.agent(await town.status(), "deacon").restarts_manual, 1);
    const answer = await httpGet(`${dash.base}api/state`, { authorization: `Bearer ${dash.token()}` });
    assert.deepEqual((JSON.parse(answer.text) as { actions: string[] }).actions, [
      "restart",
      "cycle",
      "start",
      "reset",
    ]);
  });
});
