import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../errors.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS, resolveSimAgentOptions, type SimAgentFlags } from "./options.js";

const CWD = "/work/here";

function resolveWith(flags: SimAgentFlags, env: NodeJS.ProcessEnv = {}) {
  return resolveSimAgentOptions(flags, env, CWD);
}

/** Asserts a one-line AppError with exit code 2 whose message contains every fragment. */
function assertBadValue(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), error.message);
    return true;
  });
}

describe("resolveSimAgentOptions", () => {
  it("has defaults that look like Claude Code with nothing configured", () => {
    const options = resolveWith({});
    assert.equal(options.title, "2.1.7");
    assert.equal(options.logFile, undefined);
    assert.equal(options.crashAfterMs, undefined);
    assert.equal(options.exitCode, 1);
    assert.equal(options.exitAfterMs, undefined);
    assert.equal(options.hangAfterMs, undefined);
    assert.equal(options.hangIgnoresSigterm, false);
    assert.equal(options.startupDelayMs, 0);
    assert.equal(options.bypassDialog, false);
    assert.equal(options.heartbeatFile, undefined);
    assert.equal(options.heartbeatIntervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS);
    assert.equal(options.heartbeatIntervalMs, 30_000);
    assert.equal(options.stopHeartbeatAfterMs, undefined);
    assert.equal(options.identity, "no role");
    assert.equal(options.generation, null);
  });

  it("parses every flag", () => {
    const options = resolveWith({
      title: "claude",
      log: "/tmp/a.jsonl",
      crashAfter: "1.2s",
      exitCode: "3",
      exitAfter: "2m",
      hangAfter: "500ms",
      hangIgnoresSigterm: true,
      startupDelay: "250ms",
      bypassDialog: true,
      heartbeatFile: "/tmp/hb.json",
      heartbeatInterval: "5s",
      stopHeartbeatAfter: "1h30m",
    });
    assert.equal(options.title, "claude");
    assert.equal(options.logFile, "/tmp/a.jsonl");
    assert.equal(options.crashAfterMs, 1200);
    assert.equal(options.exitCode, 3);
    assert.equal(options.exitAfterMs, 120_000);
    assert.equal(options.hangAfterMs, 500);
    assert.equal(options.hangIgnoresSigterm, true);
    assert.equal(options.startupDelayMs, 250);
    assert.equal(options.bypassDialog, true);
    assert.equal(options.heartbeatFile, "/tmp/hb.json");
    assert.equal(options.heartbeatIntervalMs, 5000);
    assert.equal(options.stopHeartbeatAfterMs, 5_400_000);
  });

  it("takes Claude's --resume with a session id, and nothing else", () => {
    assert.equal(resolveWith({}).resume, undefined);
    assert.equal(
      resolveWith({ resume: "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc" }).resume,
      "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc",
    );
    assertBadValue(() => resolveWith({ resume: "../x" }), `--resume "../x"`, "not a session id");
    assertBadValue(() => resolveWith({ resume: "" }), "--resume");
  });

  it("reads every control from the environment", () => {
    const options = resolveWith(
      {},
      {
        TOWND_SIM_TITLE: "node",
        TOWND_SIM_LOG: "/tmp/b.jsonl",
        TOWND_SIM_CRASH_AFTER: "0s",
        TOWND_SIM_EXIT_CODE: "0",
        TOWND_SIM_EXIT_AFTER: "10s",
        TOWND_SIM_HANG_AFTER: "3s",
        TOWND_SIM_HANG_IGNORES_SIGTERM: "yes",
        TOWND_SIM_STARTUP_DELAY: "1s",
        TOWND_SIM_BYPASS_DIALOG: "1",
        TOWND_SIM_HEARTBEAT_FILE: "/tmp/hb2.json",
        TOWND_SIM_HEARTBEAT_INTERVAL: "100ms",
        TOWND_SIM_STOP_HEARTBEAT_AFTER: "2s",
      },
    );
    assert.equal(options.title, "node");
    assert.equal(options.logFile, "/tmp/b.jsonl");
    assert.equal(options.crashAfterMs, 0);
    assert.equal(options.exitCode, 0);
    assert.equal(options.exitAfterMs, 10_000);
    assert.equal(options.hangAfterMs, 3000);
    assert.equal(options.hangIgnoresSigterm, true);
    assert.equal(options.startupDelayMs, 1000);
    assert.equal(options.bypassDialog, true);
    assert.equal(options.heartbeatFile, "/tmp/hb2.json");
    assert.equal(options.heartbeatIntervalMs, 100);
    assert.equal(options.stopHeartbeatAfterMs, 2000);
  });

  it("lets the flag win over the environment, and ignores empty variables", () => {
    const env = { TOWND_SIM_CRASH_AFTER: "5s", TOWND_SIM_TITLE: "node", TOWND_SIM_EXIT_AFTER: "" };
    const options = resolveWith({ crashAfter: "2s" }, env);
    assert.equal(options.crashAfterMs, 2000);
    assert.equal(options.title, "node");
    assert.equal(options.exitAfterMs, undefined);
    // A bad variable is not looked at when the flag is given.
    assert.equal(resolveWith({ crashAfter: "1s" }, { TOWND_SIM_CRASH_AFTER: "soon" }).crashAfterMs, 1000);
  });

  it("reads boolean variables as 1/0, true/false, yes/no, on/off", () => {
    for (const yes of ["1", "true", "TRUE", "yes", "on"])
      assert.equal(resolveWith({}, { TOWND_SIM_BYPASS_DIALOG: yes }).bypassDialog, true, yes);
    for (const no of ["0", "false", "no", "off"])
      assert.equal(resolveWith({}, { TOWND_SIM_BYPASS_DIALOG: no }).bypassDialog, false, no);
    assertBadValue(
      () => resolveWith({}, { TOWND_SIM_BYPASS_DIALOG: "maybe" }),
      "TOWND_SIM_BYPASS_DIALOG",
      "maybe",
    );
  });

  it("rejects a bad duration in one line naming the flag and the value", () => {
    assertBadValue(() => resolveWith({ crashAfter: "soon" }), "--crash-after", '"soon"', "duration");
    assertBadValue(() => resolveWith({ hangAfter: "-1s" }), "--hang-after", '"-1s"');
    assertBadValue(() => resolveWith({ startupDelay: "5" }), "--startup-delay", '"5"');
    assertBadValue(() => resolveWith({ stopHeartbeatAfter: "" }), "--stop-heartbeat-after");
    assertBadValue(
      () => resolveWith({}, { TOWND_SIM_EXIT_AFTER: "later" }),
      "TOWND_SIM_EXIT_AFTER",
      '"later"',
    );
  });

  it("refuses a zero heartbeat interval and durations a timer cannot hold", () => {
    assertBadValue(() => resolveWith({ heartbeatInterval: "0s" }), "--heartbeat-interval", "longer than 0");
    assertBadValue(() => resolveWith({ crashAfter: "1000h" }), "--crash-after", "too long");
    assert.equal(resolveWith({ crashAfter: "596h" }).crashAfterMs, 596 * 3_600_000);
  });

  it("accepts exit codes 0 to 255 only", () => {
    assert.equal(resolveWith({ exitCode: "0" }).exitCode, 0);
    assert.equal(resolveWith({ exitCode: "255" }).exitCode, 255);
    for (const bad of ["256", "-1", "1.5", "x", ""])
      assertBadValue(() => resolveWith({ exitCode: bad }), "--exit-code", JSON.stringify(bad));
    assertBadValue(() => resolveWith({}, { TOWND_SIM_EXIT_CODE: "400" }), "TOWND_SIM_EXIT_CODE", '"400"');
  });

  it("refuses an empty title or log file", () => {
    assertBadValue(() => resolveWith({ title: "" }), "--title", "empty");
    assertBadValue(() => resolveWith({ log: " " }), "--log", "empty");
  });

  it("resolves relative paths against the working directory", () => {
    const options = resolveWith({ log: "logs/a.jsonl", heartbeatFile: "hb.json" });
    assert.equal(options.logFile, "/work/here/logs/a.jsonl");
    assert.equal(options.heartbeatFile, "/work/here/hb.json");
  });

  it("heartbeats to <root>/deacon/heartbeat.json when it runs as a town's Deacon", () => {
    assert.equal(
      resolveWith({}, { GT_ROLE: "deacon", GT_TOWN_ROOT: "/t" }).heartbeatFile,
      "/t/deacon/heartbeat.json",
    );
    assert.equal(
      resolveWith({}, { GT_ROLE: "deacon", GT_ROOT: "/g" }).heartbeatFile,
      "/g/deacon/heartbeat.json",
    );
    assert.equal(
      resolveWith({}, { GT_ROLE: "deacon", GT_TOWN_ROOT: "/t", GT_ROOT: "/g" }).heartbeatFile,
      "/t/deacon/heartbeat.json",
    );
    assert.equal(resolveWith({}, { GT_ROLE: "deacon" }).heartbeatFile, undefined);
    assert.equal(resolveWith({}, { GT_ROLE: "witness", GT_TOWN_ROOT: "/t" }).heartbeatFile, undefined);
    assert.equal(
      resolveWith({ heartbeatFile: "/x/hb.json" }, { GT_ROLE: "deacon", GT_TOWN_ROOT: "/t" }).heartbeatFile,
      "/x/hb.json",
    );
  });

  it("takes the identity from BD_ACTOR, else GT_ROLE, and the generation from TOWND_GENERATION", () => {
    const env = { BD_ACTOR: "gastown/witness", GT_ROLE: "witness", TOWND_GENERATION: "g7" };
    const options = resolveWith({}, env);
    assert.equal(options.identity, "gastown/witness");
    assert.equal(options.generation, "g7");
    assert.equal(resolveWith({}, { GT_ROLE: "deacon" }).identity, "deacon");
    assert.equal(options.env, env);
  });
});
