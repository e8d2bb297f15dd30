import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../errors.js";
import type { SettingsFile } from "../town/schemas.js";
import { settingsSchema } from "../town/schemas.js";
import { resolveRuntime } from "./runtime.js";
import { selfCommand } from "./self.js";

const settings = (value: unknown): SettingsFile => settingsSchema.parse(value);

describe("resolveRuntime presets", () => {
  it("defaults to claude with the reference's start command (B94)", () => {
    const claude = resolveRuntime("deacon", { town: settings({}) });
    assert.deepEqual(claude, {
      name: "claude",
      argv: ["claude", "--dangerously-skip-permissions"],
      env: { DISABLE_AUTOUPDATER: "1" },
      processNames: ["node", "claude"],
      readyPrompt: null,
      readyTimeoutMs: 60_000,
      startupDelayMs: 0,
      bypassDialog: false,
      profile: "claude",
      sessionIdEnv: "CLAUDE_SESSION_ID",
      hooks: true,
    });
  });

  it("has codex, gemini and sim presets", () => {
    const town = (name: string): SettingsFile => settings({ default_agent: name });
    const codex = resolveRuntime("polecat", { town: town("codex") });
    assert.deepEqual(
      [codex.argv, codex.processNames, codex.sessionIdEnv, codex.profile],
      [["codex", "--yolo", "-c", "check_for_update_on_startup=false"], ["codex", "node"], null, "codex"],
    );
    const gemini = resolveRuntime("polecat", { town: town("gemini") });
    assert.deepEqual(
      [gemini.argv, gemini.processNames, gemini.sessionIdEnv],
      [["gemini", "--approval-mode", "yolo"], ["gemini", "node"], "GEMINI_SESSION_ID"],
    );
    const sim = resolveRuntime("polecat", { town: town("sim") });
    assert.deepEqual(sim.argv, [...selfCommand(), "sim-agent"]);
    assert.deepEqual(
      [sim.processNames, sim.readyPrompt, sim.readyTimeoutMs, sim.profile],
      [["2.1.7", "node"], null, 10_000, "claude"],
    );
  });

  it("hands out a fresh preset each time, so one caller's edit does not leak", () => {
    const first = resolveRuntime("mayor", { town: settings({}) });
    first.argv.push("--extra");
    assert.deepEqual(resolveRuntime("mayor", { town: settings({}) }).argv, [
      "claude",
      "--dangerously-skip-permissions",
    ]);
  });
});

describe("resolveRuntime order", () => {
  const town = settings({ default_agent: "codex", role_agents: { witness: "gemini" } });

  it("uses town role_agents for the role, town default_agent for others", () => {
    assert.equal(resolveRuntime("witness", { town }).name, "gemini");
    assert.equal(resolveRuntime("refinery", { town }).name, "codex");
  });

  it("lets rig role_agents win over town role_agents", () => {
    const rig = settings({ role_agents: { witness: "sim" } });
    assert.equal(resolveRuntime("witness", { town, rig }).name, "sim");
  });

  it("puts town role_agents before rig default_agent", () => {
    const rig = settings({ default_agent: "sim" });
    assert.equal(resolveRuntime("witness", { town, rig }).name, "gemini");
    assert.equal(resolveRuntime("polecat", { town, rig }).name, "sim");
  });

  it("treats an empty name as unset", () => {
    const rig = settings({ default_agent: "", role_agents: { polecat: "" } });
    assert.equal(resolveRuntime("polecat", { town, rig }).name, "codex");
  });
});

describe("resolveRuntime custom agents", () => {
  it("builds a custom runtime with defaults from its command", () => {
    const town = settings({
      default_agent: "aider",
      agents: { aider: { command: "/opt/bin/aider", args: ["--yes"] } },
    });
    assert.deepEqual(resolveRuntime("crew", { town }), {
      name: "aider",
      argv: ["/opt/bin/aider", "--yes"],
      env: {},
      processNames: ["aider"],
      readyPrompt: null,
      readyTimeoutMs: 60_000,
      startupDelayMs: 3_000,
      bypassDialog: false,
      profile: "generic",
      sessionIdEnv: null,
      hooks: true,
    });
  });

  it("reads every field of a custom runtime", () => {
    const town = settings({
      default_agent: "bot",
      agents: {
        bot: {
          command: "bot",
          env: { BOT_MODE: "auto" },
          process_names: ["bot-main", "python3"],
          ready_prompt: "bot> ",
          ready_timeout: "90s",
          startup_delay: "1.5s",
          bypass_dialog: true,
          session_id_env: "BOT_SESSION",
          hooks: false,
        },
      },
    });
    assert.deepEqual(resolveRuntime("mayor", { town }), {
      name: "bot",
      argv: ["bot"],
      env: { BOT_MODE: "auto" },
      processNames: ["bot-main", "python3"],
      readyPrompt: "bot> ",
      readyTimeoutMs: 90_000,
      startupDelayMs: 1_500,
      bypassDialog: true,
      profile: "generic",
      sessionIdEnv: "BOT_SESSION",
      hooks: false,
    });
  });

  it("lets an entry named like a preset override its command and env, rig agents before town agents", () => {
    const town = settings({ agents: { claude: { command: "/town/claude", env: { IS_SANDBOX: "1" } } } });
    const fromTown = resolveRuntime("witness", { town });
    assert.deepEqual(fromTown.argv, ["/town/claude", "--dangerously-skip-permissions"]);
    assert.deepEqual(fromTown.env, { DISABLE_AUTOUPDATER: "1", IS_SANDBOX: "1" });
    // The preset's profile, readiness and liveness stay: it is still read as Claude.
    assert.deepEqual(
      [fromTown.profile, fromTown.readyPrompt, fromTown.processNames, fromTown.sessionIdEnv],
      ["claude", null, ["node", "claude"], "CLAUDE_SESSION_ID"],
    );
    const rig = settings({
      agents: { claude: { command: "/rig/claude", args: [], env: { DISABLE_AUTOUPDATER: "0" } } },
    });
    const fromRig = resolveRuntime("witness", { town, rig });
    assert.deepEqual(fromRig.argv, ["/rig/claude"], "args given replace the preset's");
    assert.deepEqual(fromRig.env, { DISABLE_AUTOUPDATER: "0" }, "settings can override the hygiene env");
  });

  it("gives a custom runtime the profile it names", () => {
    const town = settings({
      default_agent: "wrapped",
      agents: { wrapped: { command: "/opt/wrap-claude", profile: "claude" } },
    });
    const runtime = resolveRuntime("deacon", { town });
    assert.deepEqual(
      [runtime.profile, runtime.readyPrompt, runtime.startupDelayMs, runtime.processNames],
      ["claude", null, 0, ["wrap-claude"]],
    );
    assert.throws(() => settings({ agents: { x: { command: "x", profile: "cursor" } } }), /profile/);
  });

  it("finds a name chosen by the town in the rig's agents", () => {
    const town = settings({ role_agents: { refinery: "local" } });
    const rig = settings({ agents: { local: { command: "local-agent" } } });
    assert.equal(resolveRuntime("refinery", { town, rig }).argv[0], "local-agent");
  });
});

describe("resolveRuntime errors", () => {
  it("names an unknown agent and where it came from", () => {
    const town = settings({ role_agents: { witness: "foo" } });
    assert.throws(
      () => resolveRuntime("witness", { town }),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === "E_UNKNOWN_AGENT" &&
        error.message ===
          'Unknown agent "foo" in town settings role_agents.witness: define it under "agents" or use one of claude, codex, gemini, sim',
    );
  });

  it("lists custom agents too, and says when the rig chose the name", () => {
    const town = settings({ agents: { aider: { command: "aider" } } });
    const rig = settings({ default_agent: "claud" });
    assert.throws(
      () => resolveRuntime("polecat", { town, rig }),
      /^AppError: Unknown agent "claud" in rig settings default_agent: .* one of claude, codex, gemini, sim, aider$/,
    );
  });

  it("does not mistake Object.prototype members for agents", () => {
    const town = settings({ default_agent: "constructor" });
    assert.throws(() => resolveRuntime("mayor", { town }), /Unknown agent "constructor"/);
  });
});
