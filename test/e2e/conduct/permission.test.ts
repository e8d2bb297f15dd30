import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type Json, type SupervisedTown } from "../../helpers/supervised-town.js";
import {
  conductActs,
  diagnose,
  untilActivity,
  eventsOf,
  notifications,
  pressKey,
  screenOf,
  simLogOf,
  sleep,
  startedUp,
  typeLine,
  until,
} from "./_helpers.js";

/**
 * Permission waits on a real tmux server under the built daemon. The Deacon (the simulated Claude, with
 * townd's hooks) asks before running a command as Claude 2.1.332 does: PreToolUse, PermissionRequest
 * naming the tool and command, the prompt (`Do you want to proceed?` `❯ 1. Yes` …), then a
 * permission_prompt notification that names the tool only. With permission_wait.notify_after shrunk to 2 s,
 * a wait is told to a person exactly once (an alert event, a mail to the Mayor, the notify_command), naming
 * the agent, the tool and the command; townd approves nothing by itself. With an auto_approve rule
 * (settings re-read every pass), a matching command is approved ("Yes", never "don't ask again"), a
 * non-matching one waits and is told. recovery_heartbeat_interval is a minute: the passes that notify and
 * approve are the ones conduct asks for (a pass is forced only to read `status`, and to show "once").
 */

const NOTIFY_AFTER_MS = 2000;

interface MailJson {
  subject: string;
  body: string;
  type: string;
}

describe("permission waits: told once, approved only by a rule", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let notes: string;
  let generation: string;

  const mayorAlerts = async (): Promise<MailJson[]> => {
    const run = await town.townd(["mail", "inbox", "--identity", "mayor", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as MailJson[]).filter((m) => m.type === "alert");
  };
  /** The Deacon's activity in `status` after one more pass (status shows what the last pass saw). */
  const statusActivity = async () => {
    const status = await town.forcePasses(town.snapshot().daemon.heartbeat_count + 1, 10_000);
    return town.agent(status, "deacon").activity;
  };
  /** Waits until the sim has fired the prompt's last hook (the notification), so the wait is complete. */
  const notified = async (count: number): Promise<void> => {
    await until(
      `permission prompt #${count}'s notification`,
      () => simLogOf(town, generation, "hook").filter((e) => e["event"] === "Notification").length >= count,
      10_000,
    );
  };

  before(async () => {
    town = await createSupervisedTown({
      settings: (s, h) => {
        notes = join(h.root, "notes.jsonl");
        s["operational"] = {
          daemon: {
            recovery_heartbeat_interval: "1m",
            permission_wait: { notify_after: "2s" },
            notify_command: `cat >> ${notes}`,
          },
        };
      },
    });
    await town.start();
    const status = await town.waitFor(
      (s) => s.agents.some((a) => a.identity === "deacon" && a.state === "running"),
      30_000,
      "the Deacon to run",
    );
    generation = town.agent(status, "deacon").generation ?? "";
    await startedUp(town, generation);
  });
  after(async () => {
    await town.cleanup();
  });

  it("tells a person once after notify_after, naming agent, tool and command, and approves nothing", async () => {
    await typeLine(town, "hq-deacon", "/sim permission Bash rm -rf build");
    const waiting = await untilActivity(town, "deacon", "awaiting-permission");
    assert.equal(waiting.data["detail"], "Bash: rm -rf build");
    const alert = await until(
      "the permission_wait alert",
      () => eventsOf(town, "permission_wait")[0],
      10_000,
      () => diagnose(town, "deacon"),
    );
    assert.match(alert.reason, /^deacon has waited \d+s for permission: Bash: rm -rf build$/);
    assert.deepEqual(alert.data["agents"], ["deacon"]);
    assert.ok(alert.at - waiting.at >= NOTIFY_AFTER_MS, `told ${alert.at - waiting.at} ms into the wait`);
    // The notification that followed ("Claude needs your permission to use Bash") kept the command.
    await notified(1);
    const shown = await statusActivity();
    assert.equal(shown?.state, "awaiting-permission");
    assert.equal(shown.detail, "Bash: rm -rf build");

    // Exactly once: more passes, more time, the same single alert everywhere.
    await sleep(2500);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 3, 10_000);
    assert.equal(eventsOf(town, "permission_wait").length, 1);
    await until("the notify_command's line", () => notifications(notes).length >= 1, 5000);
    assert.deepEqual(
      notifications(notes).map((n) => [n.type, n.agents, n.message]),
      [["permission_wait", ["deacon"], alert.reason]],
    );
    const mails = await mayorAlerts();
    assert.equal(mails.length, 1);
    assert.equal(mails[0]?.subject, `ALERT permission_wait: ${alert.reason}`);

    // Nothing approved: the prompt is still up, unanswered, and townd sent it no keys.
    assert.deepEqual(conductActs(town, "deacon"), []);
    assert.deepEqual(simLogOf(town, generation, "dialog"), []);
    assert.match(await screenOf(town, "hq-deacon"), /Do you want to proceed\?\n ❯ 1\. Yes/);
    assert.equal(eventsOf(town, "activity", "deacon").at(-1)?.data["state"], "awaiting-permission");

    // A person answers: Yes runs it, the turn ends.
    await pressKey(town, "hq-deacon", "Enter");
    await untilActivity(town, "deacon", "idle");
    assert.equal(simLogOf(town, generation, "dialog")[0]?.["choice"], "Yes");
  });

  it("approves a command an auto_approve rule matches (plain Yes), and only that one", async () => {
    const settings = town.readJson("settings/config.json");
    const daemon = (settings["operational"] as { daemon: Json }).daemon;
    daemon["permission_wait"] = {
      notify_after: "2s",
      auto_approve: [{ tool: "Bash", command: "^npm (test|run lint)$" }],
    };
    town.writeJson("settings/config.json", settings);
    // The next pass reads the new settings.
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 1, 10_000);

    await typeLine(town, "hq-deacon", "/sim permission Bash npm test");
    const approved = await until(
      "the approval",
      () => conductActs(town, "deacon").find((e) => e.data["act"] === "approve"),
      10_000,
      () => diagnose(town, "deacon"),
    );
    assert.equal(approved.reason, "approved by rule Bash /^npm (test|run lint)$/: Bash: npm test");
    await untilActivity(town, "deacon", "idle");
    const answers = simLogOf(town, generation, "dialog").map((e) => e["choice"]);
    assert.deepEqual(answers, ["Yes", "Yes"], "Yes, never 'don't ask again'");
    const done = await until(
      "the approval's keys_done",
      () => eventsOf(town, "keys_done", "deacon")[0],
      5000,
    );
    assert.equal(done.reason, approved.reason);
    assert.equal(eventsOf(town, "permission_wait").length, 1, "an approved wait is not told");

    // A command the rule does not match waits for a person, and is told once.
    await typeLine(town, "hq-deacon", "/sim permission Bash npm publish");
    const publish = await untilActivity(town, "deacon", "awaiting-permission");
    assert.equal(publish.data["detail"], "Bash: npm publish");
    const told = await until(
      "the second permission_wait alert",
      () => eventsOf(town, "permission_wait")[1],
      10_000,
      () => diagnose(town, "deacon"),
    );
    assert.match(told.reason, /^deacon has waited \d+s for permission: Bash: npm publish$/);
    await sleep(1000);
    await town.forcePasses(town.snapshot().daemon.heartbeat_count + 2, 10_000);
    assert.deepEqual(
      conductActs(town, "deacon").map((e) => e.data["act"]),
      ["approve"],
      "nothing more approved",
    );
    assert.equal(simLogOf(town, generation, "dialog").length, 2);
    assert.equal(eventsOf(town, "permission_wait").length, 2);
    await until("the second notification", () => notifications(notes).length >= 2, 5000);
    assert.match(notifications(notes)[1]?.message ?? "", /deacon .* Bash: npm publish$/);
  });
});
