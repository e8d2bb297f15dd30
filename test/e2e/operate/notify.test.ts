import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createSupervisedTown,
  killAndMeasure,
  tempDir,
  townProcessPids,
  type Json,
  type LogRecord,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { ISO_TIME, processesRunning, sleep, storeEvents, until } from "./_helpers.js";

/**
 * operational.daemon.notify_command on a real town under the built daemon. The Deacon crashes the moment
 * it starts; with the crash loop shrunk to 2 automatic restarts within 1 m (retry after 1 h), every
 * episode (`townd reset deacon` starts the next) raises exactly one crash_loop alert. Each episode runs
 * another notify_command, changed in settings/config.json while the daemon runs: a string (/bin/sh -c),
 * an array (argv), one that fails, one that cannot start, one that hangs. The Mayor (healthy) is the agent
 * whose supervision must not wait for a notifier. A second town feeds agent-controlled text containing
 * `$(touch PWNED)` into an alert's message.
 */

interface AlertJson {
  type: string;
  ts: string;
  message: string;
  agents: string[];
  town: string;
}

interface MailJson {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  timestamp: string;
  read: boolean;
  priority: string;
  type: string;
}

const LIMITS = {
  death_poll_interval: "250ms",
  restart: {
    initial_backoff: "200ms",
    max_backoff: "200ms",
    multiplier: 1,
    crash_loop_count: 2,
    crash_loop_window: "1m",
    crash_loop_retry: "1h",
  },
  // Many episodes of restarts here on purpose: no spawn_budget alert may mix in.
  spawn_budget: { count: 1000, window: "10m" },
};

async function mayorAlerts(town: SupervisedTown): Promise<MailJson[]> {
  const run = await town.townd(["mail", "inbox", "--identity", "mayor", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as MailJson[]).filter((m) => m.type === "alert");
}

function crashLoopLines(town: SupervisedTown): LogRecord[] {
  return town.log().filter((r) => r.msg.startsWith("ALERT crash_loop: "));
}

describe("notify_command gets each alert as JSON on stdin, once per episode", { timeout: 100_000 }, () => {
  let town: SupervisedTown;
  const out = tempDir();
  let episode = 0;

  /** Puts `notify` in settings, starts the next crash-loop episode, and waits for its alert in the log. */
  async function nextEpisode(notify: string | string[]): Promise<LogRecord> {
    const settings = town.readJson("settings/config.json");
    const operational = settings["operational"] as { daemon: Json };
    operational.daemon["notify_command"] = notify;
    town.writeJson("settings/config.json", settings);
    // Every pass re-reads the config; the reset's own pass already runs with this notify_command.
    const reset = await town.townd(["reset", "deacon"]);
    assert.equal(reset.code, 0, reset.stderr);
    episode += 1;
    return until(
      `crash_loop alert #${episode}`,
      () => crashLoopLines(town)[episode - 1],
      20_000,
      () =>
        town
          .log()
          .slice(-10)
          .map((r) => `${r.time} ${r.msg}`)
          .join("\n"),
    );
  }

  const notes = (): string[] => readdirSync(out.dir).filter((name) => /^n-\d+\.json$/.test(name));

  before(async () => {
    town = await createSupervisedTown({
      patrols: { mayor: { enabled: true } },
      settings: (s, h) => {
        s["agents"] = {
          ...(s["agents"] as Json),
          crashy: h.simRuntime(["--crash-after", "0s", "--exit-code", "7"]),
        };
        s["role_agents"] = { deacon: "crashy" };
        // A file per invocation ($$ is the notifier shell's PID).
        s["operational"] = { daemon: { ...LIMITS, notify_command: `cat > ${out.dir}/n-$$.json` } };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
    out.cleanup();
  });

  it("a string runs under /bin/sh -c and reads {type, ts, message, agents, town} on stdin", async () => {
    const started = Date.now();
    await until("the first crash_loop alert", () => crashLoopLines(town)[0], 20_000);
    episode = 1;
    const file = await until("the notifier's file", () => notes()[0], 5000);
    const text = await until(
      "the whole event",
      () => {
        const content = readFileSync(join(out.dir, file), "utf8");
        return content.endsWith("\n") ? content : undefined;
      },
      5000,
    );
    assert.equal(text.split("\n").length, 2, "one JSON line");
    const alert = JSON.parse(text) as AlertJson;
    assert.deepEqual(Object.keys(alert), ["type", "ts", "message", "agents", "town"]);
    assert.equal(alert.type, "crash_loop");
    assert.match(alert.ts, ISO_TIME);
    assert.ok(Date.parse(alert.ts) >= started - 5000 && Date.parse(alert.ts) <= Date.now());
    assert.match(
      alert.message,
      /^deacon is in a crash loop \(2 automatic restarts within 1m0s, last: pane died \(exit status 7\)\); retrying once every 1h0m0s; 'townd reset deacon' retries now$/,
    );
    assert.deepEqual(alert.agents, ["deacon"]);
    assert.equal(alert.town, town.root);
    assert.equal(crashLoopLines(town)[0]?.msg, `ALERT crash_loop: ${alert.message}`);
    const recorded = storeEvents(town.root).filter((e) => e.type === "crash_loop");
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]?.reason, alert.message);
    assert.deepEqual(recorded[0].data, { agents: ["deacon"] });

    // Exactly once: nothing more while the agent sits in its crash loop.
    await sleep(1500);
    assert.equal(notes().length, 1, `one notification, got ${notes().join(", ")}`);
    assert.equal(crashLoopLines(town).length, 1);
  });

  it("the same alert is mailed to the Mayor (mail inbox --identity mayor --json), once", async () => {
    const mails = await mayorAlerts(town);
    assert.equal(mails.length, 1, JSON.stringify(mails));
    const [mail] = mails;
    assert.ok(mail !== undefined);
    assert.deepEqual(Object.keys(mail), [
      "id",
      "from",
      "to",
      "subject",
      "body",
      "timestamp",
      "read",
      "priority",
      "type",
    ]);
    const alert = JSON.parse(readFileSync(join(out.dir, notes()[0] ?? ""), "utf8")) as AlertJson;
    assert.equal(mail.subject, `ALERT crash_loop: ${alert.message.slice(0, 120)}`);
    assert.equal(mail.body, alert.message);
    assert.equal(mail.from, "daemon");
    assert.equal(mail.to, "mayor");
    assert.equal(mail.priority, "high");
    assert.equal(mail.read, false);
  });

  it("an array runs directly (argv), again exactly once for the next episode", async () => {
    const file = join(out.dir, "array.jsonl");
    await nextEpisode(["/bin/sh", "-c", `cat >> ${file}`]);
    await until(
      "the array notifier's line",
      () => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"),
      5000,
    );
    await sleep(1500);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    assert.equal(lines.length, 1, "one notification for the second episode");
    const alert = JSON.parse(lines[0] ?? "") as AlertJson;
    assert.equal(alert.type, "crash_loop");
    assert.deepEqual(alert.agents, ["deacon"]);
    assert.equal(notes().length, 1, "the string notifier is not run any more");
    assert.equal((await mayorAlerts(town)).length, 2, "one ALERT mail per episode");
  });

  it("a notify_command that fails, or cannot start, is logged; the alert is still recorded and mailed", async () => {
    await nextEpisode("echo notify-broke >&2; exit 3");
    const failed = await town.waitForLog(
      (r) => r.msg.startsWith("notify_command for crash_loop ended with exit status 3"),
      5000,
      "the failed notifier in the log",
    );
    assert.equal(failed.at(-1)?.msg, "notify_command for crash_loop ended with exit status 3: notify-broke");
    assert.equal(failed.at(-1)?.level, "error");

    await nextEpisode(["/nonexistent/notifier", "--flag"]);
    const missing = await town.waitForLog(
      (r) => r.msg.startsWith("notify_command failed"),
      5000,
      "the notifier that could not start, in the log",
    );
    assert.match(missing.at(-1)?.msg ?? "", /^notify_command failed: spawn \/nonexistent\/notifier ENOENT$/);
    assert.equal((await mayorAlerts(town)).length, 4);
    assert.equal(storeEvents(town.root).filter((e) => e.type === "crash_loop").length, 4);
    assert.ok(town.daemonPid() !== undefined && town.snapshot().daemon.running, "the daemon runs on");
  });

  it("a hanging notify_command (sleep 60) does not hold up supervision; its timeout is logged", async (t) => {
    await town.waitFor((s) => town.agent(s, "mayor").state === "running", 15_000, "the Mayor running");
    const alertLine = await nextEpisode("sleep 60; echo too-late");
    // The notifier now hangs; the Mayor dies and must come back as promptly as ever.
    const measured = await killAndMeasure(town, "hq-mayor", { timeoutMs: 5000 });
    t.diagnostic(
      `Mayor respawned ${measured.respawnMs.toFixed(0)} ms after its kill, with a notifier hanging`,
    );
    assert.ok(measured.respawnMs < 3000, `respawned after ${measured.respawnMs.toFixed(0)} ms`);
    const timedOut = await town.waitForLog(
      (r) => r.msg.startsWith("notify_command for crash_loop ended with signal"),
      15_000,
      "the hanging notifier's timeout in the log",
    );
    const line = timedOut.at(-1);
    assert.equal(line?.msg, "notify_command for crash_loop ended with signal SIGKILL");
    const after = Date.parse(line.time) - Date.parse(alertLine.time);
    t.diagnostic(`the notifier was killed ${after} ms after the alert`);
    assert.ok(after >= 9000 && after < 13_000, `killed ${after} ms after the alert (timeout 10 s)`);
  });

  it("the hung notifier's children are killed with it (no `sleep 60` left behind)", () => {
    const left = processesRunning(townProcessPids(town.root), ["sleep", "60"]);
    assert.deepEqual(left, [], "the notifier's `sleep 60` outlived the timeout that killed its shell");
  });
});

describe("an alert's agent-controlled text only travels on stdin", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  const out = tempDir();

  before(async () => {
    town = await createSupervisedTown({
      settings: (s) => {
        // A zombie: the pane's shell outlives its agent; the only process left names itself `$(touch PWNED)`,
        // and the daemon quotes process names in its reason, which ends up in the crash_loop message.
        s["agents"] = {
          ...(s["agents"] as Json),
          zombie: {
            command: "/bin/bash",
            args: ["-c", "(exec -a '$(touch PWNED)' sleep 60) & wait"],
            process_names: ["no-such-agent"],
            ready_timeout: "1s",
            bypass_dialog: false,
          },
        };
        s["role_agents"] = { deacon: "zombie" };
        s["operational"] = { daemon: { ...LIMITS, notify_command: `cat > ${out.dir}/n-$$.json` } };
      },
    });
    await town.start();
  });
  after(async () => {
    await town.cleanup();
    out.cleanup();
  });

  it("a `$(touch PWNED)` in the message reaches notify_command and the Mayor's mail verbatim, never a shell", async () => {
    const file = await until(
      "the crash_loop notification",
      () => readdirSync(out.dir).find((name) => name.startsWith("n-")),
      30_000,
      () =>
        town
          .log()
          .slice(-8)
          .map((r) => r.msg)
          .join("\n"),
    );
    const text = await until(
      "the whole event",
      () => {
        const content = readFileSync(join(out.dir, file), "utf8");
        return content.endsWith("\n") ? content : undefined;
      },
      5000,
    );
    const alert = JSON.parse(text) as AlertJson;
    assert.equal(alert.type, "crash_loop");
    assert.ok(alert.message.includes('"$(touch PWNED)"'), alert.message);
    const mail = JSON.parse(
      (await town.townd(["mail", "inbox", "--identity", "mayor", "--json"])).stdout,
    ) as MailJson[];
    assert.ok(mail.some((m) => m.body === alert.message));
    await sleep(500);
    // Not in the notifier's directory (cwd: the daemon's, the town root), nor anywhere else it could be.
    for (const dir of [
      town.root,
      out.dir,
      join(town.root, "deacon"),
      join(town.root, "daemon"),
      process.cwd(),
    ]) {
      assert.equal(existsSync(join(dir, "PWNED")), false, `${dir}/PWNED was created: the message was run`);
    }
  });
});
