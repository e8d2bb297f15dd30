import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { claudeSettingsPaths, renderClaudeSettings } from "../activity/hooks/settings-file.js";
import { parseHookLine } from "../activity/hooks/intake.js";
import { parseSimCommand } from "./commands.js";
import { loadSimHookSettings, SimHooks } from "./hooks.js";

describe("sim-agent hooks", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("sim-hooks-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("runs townd's hook commands with Claude-shaped payloads and the agent's generation", async () => {
    const paths = claudeSettingsPaths(tmp.dir);
    writeFileSync(paths.settingsFile, renderClaudeSettings(paths, null));
    const settings = loadSimHookSettings(paths.settingsFile);
    assert.equal(settings.hooks.get("StopFailure")?.length, 1);
    const controller = new AbortController();
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: "/home/u", TOWND_GENERATION: "g7" };
    const hooks = new SimHooks({ settings, env, cwd: "/w/deacon", signal: controller.signal });
    const runs = await hooks.fire("StopFailure", { error: "rate_limit" });
    assert.deepEqual(runs, [{ event: "StopFailure", code: 0 }]);
    await hooks.fire("NotRegistered");
    const [line] = readFileSync(paths.eventsFile, "utf8").trimEnd().split("\n");
    assert.deepEqual(parseHookLine(line ?? "", 1)?.payload, {
      session_id: hooks.sessionId,
      transcript_path: `/home/u/.claude/projects/-w-deacon/${hooks.sessionId}.jsonl`,
      cwd: "/w/deacon",
      permission_mode: "bypassPermissions",
      hook_event_name: "StopFailure",
      error: "rate_limit",
    });
  });

  it("refuses a missing settings file in one line", () => {
    assert.throws(() => loadSimHookSettings(join(tmp.dir, "none.json")), /cannot read the settings file/);
  });

  it("parses /sim hook EVENT [JSON]", () => {
    assert.deepEqual(parseSimCommand("/sim hook PreCompact"), {
      kind: "hook",
      event: "PreCompact",
      fields: {},
    });
    assert.deepEqual(parseSimCommand('/sim hook StopFailure {"error":"rate_limit"}'), {
      kind: "hook",
      event: "StopFailure",
      fields: { error: "rate_limit" },
    });
    assert.equal(parseSimCommand("/sim hook")?.kind, "invalid");
    assert.equal(parseSimCommand("/sim hook Stop [1]")?.kind, "invalid");
    assert.equal(parseSimCommand("/sim hook Stop {bad")?.kind, "invalid");
  });
});
