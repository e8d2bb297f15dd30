import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  startPrivateTmux,
  tmuxSkipReason,
  waitForPaneText,
  type PrivateTmux,
} from "../../test/helpers/tmux.js";
import { waitFor } from "../util/sleep.js";
import { TmuxSessionNotFoundError } from "./errors.js";
import { Nudger, sanitiseNudge, type NudgeTarget } from "./nudge.js";

const skip = await tmuxSkipReason();

/**
 * Stands in for an agent's prompt: appends each submitted line to a file as JSON, with the Escapes it
 * contained counted and removed (a vim-mode prompt would consume them).
 */
const PROMPT_SCRIPT = `
const fs = require("node:fs");
const out = process.argv[2];
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const escapes = line.split("\\x1b").length - 1;
  fs.appendFileSync(out, JSON.stringify({ text: line.replaceAll("\\x1b", ""), escapes }) + "\\n");
});
console.log("prompt-ready");
`;

interface Line {
  text: string;
  escapes: number;
}

describe("sanitiseNudge", () => {
  it("turns tabs into spaces and strips control characters except newlines", () => {
    assert.equal(sanitiseNudge("a\tb\u0007c\u007fd\re\u001b[2Jf\ng\u0000"), "a bcde[2Jf\ng");
  });

  it("keeps quotes, dollars, semicolons and non-ASCII text", () => {
    const text = `say "hi" 'x' $(y) \`z\` ; é 漢 🙂`;
    assert.equal(sanitiseNudge(text), text);
  });
});

/** A fake tmux that records calls and fails the ones `fail` says to. */
function recorder(fail: (call: string) => boolean = () => false): { target: NudgeTarget; calls: string[] } {
  const calls: string[] = [];
  const act = async (call: string): Promise<void> => {
    calls.push(call);
    await Promise.resolve();
    if (fail(call)) throw new Error(`fake failure of ${call}`);
  };
  return {
    calls,
    target: {
      sendLiteral: (session, text) => act(`${session}:literal:${text}`),
      sendKey: (session, key) => act(`${session}:key:${key}`),
    },
  };
}

const fast = { textDelayMs: 5, escapeDelayMs: 1, retryDelayMs: 1 };

describe("Nudger protocol (fake tmux)", () => {
  it("types the text, then Escape, then Enter", async () => {
    const { target, calls } = recorder();
    await new Nudger(target, fast).nudge("s", "hello");
    assert.deepEqual(calls, ["s:literal:hello", "s:key:Escape", "s:key:Enter"]);
  });

  it("ignores a failed Escape and retries Enter", async () => {
    let enters = 0;
    const { target, calls } = recorder(
      (call) => call.endsWith("Escape") || (call.endsWith("Enter") && ++enters < 3),
    );
    await new Nudger(target, fast).nudge("s", "x");
    assert.deepEqual(calls, ["s:literal:x", "s:key:Escape", "s:key:Enter", "s:key:Enter", "s:key:Enter"]);
  });

  it("gives up after the third failed Enter, naming the cause", async () => {
    const { target, calls } = recorder((call) => call.endsWith("Enter"));
    await assert.rejects(
      new Nudger(target, fast).nudge("s", "x"),
      /^AppError: failed to send Enter after 3 attempts: session "s": fake failure of s:key:Enter$/,
    );
    assert.equal(calls.filter((call) => call.endsWith("Enter")).length, 3);
  });

  it("waits retryDelayMs between Enter attempts", async () => {
    const { target } = recorder((call) => call.endsWith("Enter"));
    const begun = Date.now();
    await assert.rejects(new Nudger(target, { ...fast, retryDelayMs: 60 }).nudge("s", "x"));
    assert.ok(Date.now() - begun >= 120, "two retry delays of 60 ms expected");
  });

  it("does not let a failed nudge block the next one to the same session", async () => {
    const { target, calls } = recorder((call) => call.includes("literal:bad"));
    const nudger = new Nudger(target, fast);
    const results = await Promise.allSettled([nudger.nudge("s", "bad"), nudger.nudge("s", "good")]);
    assert.deepEqual(
      results.map((result) => result.status),
      ["rejected", "fulfilled"],
    );
    assert.deepEqual(calls.slice(1), ["s:literal:good", "s:key:Escape", "s:key:Enter"]);
  });

  it("serialises nudges to one session in call order", async () => {
    const { target, calls } = recorder();
    const nudger = new Nudger(target, fast);
    await Promise.all([nudger.nudge("s", "1"), nudger.nudge("s", "2"), nudger.nudge("s", "3")]);
    const expected = ["1", "2", "3"].flatMap((text) => [`s:literal:${text}`, "s:key:Escape", "s:key:Enter"]);
    assert.deepEqual(calls, expected);
  });

  it("runs nudges to different sessions concurrently", async () => {
    const { target, calls } = recorder();
    const nudger = new Nudger(target, { ...fast, textDelayMs: 50 });
    await Promise.all([nudger.nudge("a", "1"), nudger.nudge("b", "2")]);
    assert.deepEqual(calls.slice(0, 2).sort(), ["a:literal:1", "b:literal:2"]);
  });

  it("stops when aborted", async () => {
    const { target, calls } = recorder();
    const controller = new AbortController();
    const pending = new Nudger(target, { ...fast, textDelayMs: 5000 }).nudge("s", "x", {
      signal: controller.signal,
    });
    setTimeout(() => {
      controller.abort(new Error("shutting down"));
    }, 20);
    await assert.rejects(pending, /shutting down/);
    assert.deepEqual(calls, ["s:literal:x"]);
  });
});

describe("Nudger on a private tmux server", { skip }, () => {
  let tmux: PrivateTmux;
  let script: string;
  let nudger: Nudger;

  before(async () => {
    tmux = await startPrivateTmux();
    script = join(tmux.dir, "prompt.cjs");
    writeFileSync(script, PROMPT_SCRIPT);
    nudger = new Nudger(tmux.client, { textDelayMs: 50, escapeDelayMs: 20, retryDelayMs: 20 });
  });

  after(async () => {
    await tmux.cleanup();
  });

  async function startPrompt(session: string): Promise<string> {
    const out = join(tmux.dir, `${session}.lines`);
    await tmux.client.newSession({
      name: session,
      cwd: tmux.dir,
      argv: [process.execPath, script, out],
      env: {},
      generation: "g1",
      identity: session,
    });
    await waitForPaneText(tmux.client, session, "prompt-ready", 10_000);
    return out;
  }

  async function linesOf(out: string, count: number): Promise<Line[]> {
    const lines = await waitFor(
      () => {
        if (!existsSync(out)) return undefined;
        const found = readFileSync(out, "utf8").trim().split("\n");
        return found.length >= count ? found.map((line) => JSON.parse(line) as Line) : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(lines, `fewer than ${count} lines reached the prompt`);
    return lines;
  }

  it("delivers quotes, $(), backticks and semicolons literally and submits them", async () => {
    const out = await startPrompt("lit");
    const canary = join(tmux.dir, "pwned");
    const message = `He said "don't"; run $(touch ${canary}) and \`touch ${canary}\` \\ now;`;
    await nudger.nudge("lit", message);
    assert.deepEqual(await linesOf(out, 1), [{ text: message, escapes: 1 }]);
    assert.equal(existsSync(canary), false);
  });

  it("sanitises before typing: a tab becomes a space, a bell disappears", async () => {
    const out = await startPrompt("san");
    await nudger.nudge("san", "a\tb\u0007c");
    assert.deepEqual(await linesOf(out, 1), [{ text: "a bc", escapes: 1 }]);
  });

  it("never interleaves two concurrent nudges to one session", async () => {
    const out = await startPrompt("conc");
    const first = "A".repeat(300);
    const second = "B".repeat(300);
    await Promise.all([nudger.nudge("conc", first), nudger.nudge("conc", second)]);
    assert.deepEqual(await linesOf(out, 2), [
      { text: first, escapes: 1 },
      { text: second, escapes: 1 },
    ]);
  });

  it("fails with the typed error when the session does not exist", async () => {
    await assert.rejects(nudger.nudge("nosuch", "x"), TmuxSessionNotFoundError);
  });
});
