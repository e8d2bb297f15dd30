/**
 * Takes docs/dashboard.png: the dashboard of a town of simulated agents (the Deacon, rig r1's Witness and
 * Refinery) in headless Chromium, after a kill -9 of the Witness (restarted; its dead pane in the why
 * panel), with the Refinery at a usage-limit wall (counted under "needs you") and the Deacon waiting for a
 * permission. Run after `npm run build`:
 *
 *   node --import tsx scripts/dashboard-screenshot.ts [OUT.png]
 */
import { resolve } from "node:path";
import { launchHeadless } from "../test/helpers/browser.js";
import { agentPid, startDashboardTown, typeAt } from "../test/e2e/dashboard/_helpers.js";

const out = resolve(process.argv[2] ?? "docs/dashboard.png");
// The Refinery's CLI has no hooks here: its usage-limit banner (with its reset time) is read off its screen.
const dash = await startDashboardTown({
  rigs: ["r1"],
  settings: (settings, helpers) => {
    settings["agents"] = {
      ...(settings["agents"] as Record<string, unknown>),
      screenonly: helpers.simRuntime([], { hooks: false }),
    };
    settings["role_agents"] = { refinery: "screenonly" };
    // Screens are read in passes: a pass every second, so the banner is seen at once.
    (settings["operational"] as { daemon: Record<string, unknown> }).daemon["recovery_heartbeat_interval"] =
      "1s";
  },
  beforeStart: (town) => {
    town.writeJson("mayor/town.json", { ...town.readJson("mayor/town.json"), name: "gastown" });
  },
});
const { town } = dash;
const browser = await launchHeadless();
try {
  await town.waitFor(
    (s) => s.agents.filter((a) => a.state === "running").length === 3,
    30_000,
    "the patrol agents running",
  );
  process.kill(await agentPid(town, "r1/witness"), "SIGKILL");
  await town.waitFor(
    (s) => town.agent(s, "r1/witness").restarts === 1 && town.agent(s, "r1/witness").state === "running",
    30_000,
    "the Witness back",
  );
  await typeAt(town, "gt-r1-refinery", "/sim screen session-limit");
  await typeAt(
    town,
    "hq-deacon",
    '/sim hook PermissionRequest {"tool_name":"Bash","tool_input":{"command":"npm publish"}}',
  );
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const page = await context.newPage();
  await page.goto(await dash.loginUrl());
  await page.locator('td.activity[data-activity="awaiting-permission"]').waitFor({ timeout: 15_000 });
  await page.locator('td.activity[data-activity="rate-limited"]').waitFor({ timeout: 15_000 });
  await page.locator('tr.agent[data-agent="r1/witness"] button[data-why]').click();
  await page.locator("#why-pane:not([hidden])").waitFor({ timeout: 10_000 });
  await page.locator("#needs-count", { hasText: "1" }).waitFor({ timeout: 15_000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: out });
  console.log(`Wrote ${out}`);
} finally {
  await browser.close();
  await town.cleanup();
}
