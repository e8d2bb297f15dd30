import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyScreen } from "../activity/classify.js";
import { DEFAULT_DIALOG_ANSWERS, readDialog } from "../activity/dialogs.js";
import { hookReading } from "../activity/hooks/states.js";
import { statuslineWall, parseStatusline } from "../activity/hooks/statusline.js";
import { CLAUDE_LIMIT_MENU, PERMISSION_MENU } from "../activity/midsession.js";
import { runtimeProfile } from "../activity/profiles.js";
import { parseScreen } from "../activity/screen.js";
import { readUsageLimit } from "../activity/usage-limits.js";
import { permissionPrompt, rateLimitMenu, WAIT_FOR_RESET } from "./prompts.js";
import { resetWords, SimWall } from "./wall.js";

/** What the sim draws is what townd reads from the real CLI: each reader of src/activity agrees. */

const CLAUDE = runtimeProfile("claude");
const AT = Date.parse("2026-05-04T15:40:31.250Z");

describe("SimWall", () => {
  it("lifts at a whole minute, DURATION from now rounded up, and says so in Claude's words", () => {
    const wall = new SimWall(AT, 60_000);
    assert.equal(wall.resetsAt, Date.parse("2026-05-04T15:42:00.000Z"));
    assert.equal(wall.banner, "You've hit your session limit · resets 3:42pm (UTC)");
    assert.ok(wall.standsAt(wall.resetsAt - 1) && !wall.standsAt(wall.resetsAt));
    assert.equal(new SimWall(Date.parse("2026-05-04T15:40:00.000Z"), 60_000).resetsAt, AT - 31_250 + 60_000);
    assert.equal(resetWords(Date.parse("2026-05-04T17:00:00Z"), AT), "5pm");
    assert.equal(resetWords(Date.parse("2026-05-05T00:05:00Z"), AT), "12:05am");
    assert.equal(resetWords(Date.parse("2026-05-08T12:30:00Z"), AT), "May 8, 12:30pm");
  });

  for (const [what, ms] of [
    ["a minute", 60_000],
    ["five hours", 5 * 3_600_000],
    ["four days", 4 * 86_400_000],
  ] as const) {
    it(`is read to the minute by townd from the screen, the hook and the statusline (${what})`, () => {
      const wall = new SimWall(AT, ms);
      const screen = parseScreen(`❯ go on\nreceived: go on\n${wall.screenText}❯ `);
      const fromScreen = classifyScreen(screen, CLAUDE, AT + 500, { localZone: "Asia/Tbilisi" });
      assert.equal(fromScreen?.state, "rate-limited");
      assert.equal(fromScreen.resetsAt, wall.resetsAt);
      const limit = ms > 5 * 3_600_000 ? "weekly" : "session";
      assert.equal(readUsageLimit(screen.lines, AT)?.limit, limit);
      assert.equal(wall.weekly, limit === "weekly");
      const fromHook = hookReading({
        generation: "g1",
        event: "StopFailure",
        payload: wall.stopFailure,
        receivedAt: AT + 80,
      });
      assert.equal(fromHook?.state, "rate-limited");
      assert.equal(fromHook.resetsAt, wall.resetsAt);
      assert.equal(fromHook.limit, limit);
      const statusline = parseStatusline(JSON.stringify({ rate_limits: wall.rateLimits }), AT);
      assert.ok(statusline !== null);
      assert.equal(statuslineWall(statusline, AT)?.resetsAt, wall.resetsAt);
      assert.equal(statuslineWall(statusline, wall.resetsAt), null, "lifted at its reset");
    });
  }
});

describe("mid-session prompts", () => {
  it("draws a permission prompt townd reads as awaiting permission, and answers with Yes by Enter", () => {
    const prompt = permissionPrompt("Bash", "npm test");
    const screen = parseScreen(`received: /sim permission Bash npm test\n${prompt.render()}`);
    assert.deepEqual(classifyScreen(screen, CLAUDE, AT), {
      state: "awaiting-permission",
      source: "screen",
      detail: "Bash command: npm test",
    });
    const view = readDialog(screen.lines, [PERMISSION_MENU], DEFAULT_DIALOG_ANSWERS);
    assert.ok(view.kind === "answer", view.kind);
    assert.equal(view.says, "Yes");
    assert.equal(view.target, view.menu.cursor, "Yes is where the cursor is: Enter alone answers");
    assert.deepEqual(prompt.feed("\r"), { outcome: "chosen", moved: false, rest: "" });
    assert.equal(prompt.selected, 0);
  });

  it("takes Esc on the permission prompt as No (its third option), also after a moment's wait", () => {
    const prompt = permissionPrompt("Bash", "rm -rf /");
    assert.match(prompt.render(), /2\. Yes, and don't ask again for rm commands in this project/);
    assert.equal(prompt.feed("\x1b").outcome, "pending");
    assert.ok(prompt.escapePending);
    assert.deepEqual(prompt.flushEscape(), { outcome: "chosen", moved: true, rest: "" });
    assert.equal(prompt.selectedOption, "No, and tell Claude what to do differently (esc)");
    const other = permissionPrompt("Edit", "/w/app.ts");
    assert.match(other.render(), /^ Edit$/m);
    assert.deepEqual(other.feed("\x1b[B\x1b[B\r").outcome, "chosen");
    assert.equal(other.selected, 2);
  });

  it("draws the /rate-limit-options menu townd answers with its wait option", () => {
    const menu = rateLimitMenu();
    const wall = new SimWall(AT, 60_000);
    const screen = parseScreen(`${wall.screenText}${menu.render()}`);
    const view = readDialog(screen.lines, [CLAUDE_LIMIT_MENU], DEFAULT_DIALOG_ANSWERS);
    assert.equal(view.kind === "answer" ? view.says : view.kind, WAIT_FOR_RESET);
    assert.equal(classifyScreen(screen, CLAUDE, AT)?.state, "rate-limited");
    assert.equal(menu.feed("\x1b[B").moved, true);
    assert.deepEqual(menu.feed("\x1b[A\r").outcome, "chosen");
    assert.equal(menu.selectedOption, WAIT_FOR_RESET);
  });
});
