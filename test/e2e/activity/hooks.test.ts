import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseHookLine, type HookEvent } from "../../../src/activity/hooks/intake.js";
import { hookReading } from "../../../src/activity/hooks/states.js";
import { readStatusline } from "../../../src/activity/hooks/statusline.js";
import { createSupervisedTown, type Json, type SupervisedTown } from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";

/**
 * Claude's hooks through the built daemon: every Claude-profile agent (here the simulated one, which runs the
 * hooks of `--settings` as Claude does) is started with `--settings daemon/claude-settings.json`, and its hook
 * lines reach daemon/hook-events under its own generation; a runtime with `"hooks": false` gets none.
 */
describe("Claude hooks reach daemon/hook-events", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  let eventsFile: string;
  const generations = new Map<string, string>();

  const events = (): HookEvent[] =>
    existsSync(eventsFile)
      ? readFileSync(eventsFile, "utf8")
          .split("\n")
          .map((line) => parseHookLine(line, 0))
          .filter((e): e is HookEvent => e !== null)
      : [];
  const eventsOf = (identity: string): string[] =>
    events()
      .filter((e) => e.generation === generations.get(identity))
      .map((e) => e.event);

  before(async () => {
    town = await createSupervisedTown({
      rigs: ["r1"],
      patrols: { refinery: { enabled: false } },
      settings: (s, h) => {
        s["agents"] = { ...(s["agents"] as Json), nohooks: h.simRuntime([], { hooks: false }) };
        s["role_agents"] = { witness: "nohooks" };
      },
    });
    eventsFile = join(town.root, "daemon", "hook-events");
    await town.start();
    const status = await town.waitFor(
      (s) =>
        ["deacon", "r1/witness"].every((id) =>
          s.agents.some((a) => a.identity === id && a.state === "running"),
        ),
      30_000,
      "the deacon and the witness to run",
    );
    for (const id of ["deacon", "r1/witness"]) generations.set(id, town.agent(status, id).generation ?? "");
  });
  after(async () => {
    await town.cleanup();
  });

  it("writes the settings file owner-only and passes it to Claude-profile agents only", async () => {
    const settings = join(town.root, "daemon", "claude-settings.json");
    assert.equal(statSync(settings).mode & 0o777, 0o600);
    const starts = town.simEntries().filter((e) => e.type === "start");
    assert.ok(starts.length >= 2);
    // tmux keeps the command each pane was started with (the agent's process title hides its argv).
    const argv = async (session: string): Promise<string> =>
      (await town.tmux(["display-message", "-p", "-t", `=${session}:`, "#{pane_start_command}"])).stdout;
    assert.match(await argv("hq-deacon"), new RegExp(`--settings ${settings}`));
    assert.doesNotMatch(await argv("gt-r1-witness"), /--settings/);
  });

  it("has SessionStart, then UserPromptSubmit and Stop for the beacon, under the agent's generation", async () => {
    const deacon = await until(
      "the deacon's SessionStart, UserPromptSubmit and Stop",
      () => {
        const seen = eventsOf("deacon");
        return seen.includes("Stop") ? seen : undefined;
      },
      20_000,
      () => readFileSync(eventsFile, "utf8"),
    );
    assert.deepEqual(deacon.slice(0, 3), ["SessionStart", "UserPromptSubmit", "Stop"]);
    const prompt = events().find(
      (e) => e.generation === generations.get("deacon") && e.event === "UserPromptSubmit",
    );
    assert.match(String(prompt?.payload?.["prompt"]), /GAS TOWN/);
    assert.equal(prompt && hookReading(prompt)?.state, "working");
    assert.deepEqual(eventsOf("r1/witness"), [], "hooks: false");
    assert.equal(statSync(eventsFile).mode & 0o777, 0o600);
  });

  it("carries events fired at the agent's prompt, and keeps its statusline", async () => {
    const send = async (text: string): Promise<void> => {
      await town.tmux(["send-keys", "-t", "=hq-deacon:", "-l", text]);
      await town.tmux(["send-keys", "-t", "=hq-deacon:", "Enter"]);
    };
    await send('/sim hook PermissionRequest {"tool_name":"Bash","tool_input":{"command":"npm test"}}');
    const permission = await until(
      "the PermissionRequest line",
      () =>
        events().find((e) => e.generation === generations.get("deacon") && e.event === "PermissionRequest"),
      10_000,
      () => readFileSync(eventsFile, "utf8"),
    );
    assert.deepEqual(hookReading(permission), {
      state: "awaiting-permission",
      source: "hook",
      detail: "Bash: npm test",
    });
    const statusline = readStatusline(
      join(town.root, "daemon", "statusline"),
      generations.get("deacon") ?? "",
    );
    assert.ok(statusline !== null, "the statusline ran after the beacon's turn");
    assert.equal(typeof statusline.costUsd, "number");
    assert.equal(statusline.sessionId, permission.payload?.["session_id"]);
  });
});
