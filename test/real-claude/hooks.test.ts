import assert from "node:assert/strict";
import { storeEvents } from "../helpers/store.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseHookLine, type HookEvent } from "../../src/activity/hooks/intake.js";
import { hookReading } from "../../src/activity/hooks/states.js";
import { readStatusline } from "../../src/activity/hooks/statusline.js";
import type { SupervisedTown } from "../helpers/supervised-town.js";
import { sleep, until } from "../helpers/wait.js";
import {
  createClaudeTown,
  destroyClaudeTown,
  isDialog,
  screen,
  skipWithoutClaude,
  type ClaudeTown,
} from "./_claude.js";

/**
 * The real Claude Code CLI (pinned, no login) with the settings townd passes by `--settings`: its hooks write
 * to daemon/hook-events and its statusline to daemon/statusline/<generation>.json. As recorded in
 * test/fixtures/claude-2.1.332/README.md: no event while the dialogs show, SessionStart once the prompt
 * appears, then for the beacon UserPromptSubmit and StopFailure `authentication_failed`.
 */
describe("real Claude Code fires townd's hooks", { timeout: 90_000, skip: skipWithoutClaude() }, () => {
  let ct: ClaudeTown;
  let town: SupervisedTown;
  let built = false;
  let eventsFile = "";
  const session = "hq-deacon";

  const eventsOf = (generation: string): HookEvent[] =>
    existsSync(eventsFile)
      ? readFileSync(eventsFile, "utf8")
          .split("\n")
          .map((line) => parseHookLine(line, 0))
          .filter((e): e is HookEvent => e !== null && e.generation === generation)
      : [];

  before(async () => {
    ct = await createClaudeTown();
    town = ct.town;
    built = true;
    eventsFile = join(town.root, "daemon", "hook-events");
    await town.start();
  });
  after(async () => {
    if (built) await destroyClaudeTown(ct);
  });

  it("fires SessionStart after the dialogs, then UserPromptSubmit and StopFailure for the beacon, and keeps its statusline", async (t) => {
    const pane = await until(
      "the Deacon's pane",
      async () => {
        const p = await town.pane(session);
        return p !== undefined && !p.dead && p.generation !== "" ? p : undefined;
      },
      30_000,
    );
    const generation = pane.generation;
    // Watch the screen until SessionStart arrives: it must not come while a dialog is still shown.
    let dialogsSeen = 0;
    let startedDuringDialog = false;
    const deadline = Date.now() + 40_000;
    for (;;) {
      const text = await screen(town, session);
      const started = eventsOf(generation).some((e) => e.event === "SessionStart");
      if (isDialog(text)) {
        dialogsSeen += 1;
        if (started) startedDuringDialog = true;
      }
      if (started) break;
      assert.ok(Date.now() < deadline, `no SessionStart for ${generation}:\n${text}`);
      await sleep(100);
    }
    assert.ok(dialogsSeen > 0, "the trust and bypass dialogs showed first");
    assert.equal(startedDuringDialog, false, "no SessionStart while a dialog shows");

    const events = await until(
      "UserPromptSubmit and StopFailure for the beacon",
      () => {
        const seen = eventsOf(generation);
        return seen.some((e) => e.event === "StopFailure") ? seen : undefined;
      },
      40_000,
      () => (existsSync(eventsFile) ? readFileSync(eventsFile, "utf8") : "no hook-events file"),
    );
    t.diagnostic(events.map((e) => `${e.event} ${JSON.stringify(e.payload)}`).join("\n"));
    assert.deepEqual(events.map((e) => e.event).slice(0, 3), [
      "SessionStart",
      "UserPromptSubmit",
      "StopFailure",
    ]);
    const [start, prompt, failure] = events;
    assert.equal(start && hookReading(start)?.state, "idle");
    assert.match(String(prompt?.payload?.["prompt"]), /^\[GAS TOWN\] deacon <- daemon/);
    assert.equal(prompt && hookReading(prompt)?.state, "working");
    assert.deepEqual(failure && hookReading(failure), {
      state: "auth-required",
      source: "hook",
      detail: "StopFailure: authentication_failed — Not logged in · Please run /login",
    });

    const statusline = await until(
      `daemon/statusline/${generation}.json`,
      () => readStatusline(join(town.root, "daemon", "statusline"), generation) ?? undefined,
      20_000,
    );
    t.diagnostic(JSON.stringify(statusline));
    assert.equal(statusline.sessionId, start?.payload?.["session_id"]);

    // The daemon took the events as they came: the logged-out Claude reads as auth-required, from its hook.
    const status = await town.waitFor(
      (s) => town.agent(s, "deacon").activity?.state === "auth-required",
      20_000,
      "the Deacon's activity to be auth-required",
    );
    const activity = town.agent(status, "deacon").activity;
    assert.equal(activity?.source, "hook");
    assert.match(activity.detail, /authentication_failed/);
    const changes = storeEvents(town.root).filter((e) => e.type === "activity" && e.identity === "deacon");
    assert.ok(
      changes.some((e) => /→ auth-required \(hook\)/.test(e.reason)),
      changes.map((e) => e.reason).join("\n"),
    );
  });
});
