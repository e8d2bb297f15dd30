import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TmuxClient } from "../../../src/tmux/client.js";
import { Nudger } from "../../../src/tmux/nudge.js";
import {
  createSupervisedTown,
  inputsOf,
  tempDir,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * Nudges (B116, B117) typed into a supervised agent's pane on the town's real tmux server: text that means
 * something to a shell, to tmux's command parser or to tmux formats arrives as plain text, and nothing runs.
 */

describe("nudges reach the agent literally", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  let markers: { dir: string; cleanup(): void };
  let generation: string;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { witness: { enabled: false }, refinery: { enabled: false } },
    });
    markers = tempDir();
    await town.start();
    const status = await town.waitFor(
      (s) => s.agents.some((a) => a.identity === "deacon" && a.state === "running"),
      30_000,
      "the deacon to finish its start-up sequence",
    );
    generation = town.agent(status, "deacon").generation ?? "";
    assert.notEqual(generation, "");
  });
  after(async () => {
    await town.cleanup();
    markers.cleanup();
  });

  it("delivers quotes, $(), backticks, ;, &&, #{}/#() and a newline as text, executing nothing", async () => {
    const marker = (name: string): string => join(markers.dir, name);
    const payloads = [
      `it's "double" and 'single' quoted`,
      `$(touch ${marker("dollar")})`,
      `\`touch ${marker("backtick")}\``,
      `; touch ${marker("semicolon")}`,
      `true && touch ${marker("and")} || touch ${marker("or")}`,
      `ends with a semicolon;`,
      `ends with an escaped semicolon \\;`,
      `#{session_name} #(touch ${marker("format")}) ## %1`,
      `-t =nowhere: starts with a dash`,
      `Enter`,
      `unicode • ✓ ünï 中文`,
      `first line\nsecond line`,
    ];
    const expected = payloads.flatMap((p) => p.split("\n"));

    const client = new TmuxClient({ socket: town.socket });
    const nudger = new Nudger(client);
    // Queued all at once: the Nudger serialises them per session (B117), so they arrive whole and in order.
    await Promise.all(payloads.map((p) => nudger.nudge("hq-deacon", p)));

    const deadline = Date.now() + 10_000;
    let received = inputsOf(town.simEntries(), generation).slice(2);
    while (received.length < expected.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      received = inputsOf(town.simEntries(), generation).slice(2);
    }
    assert.deepEqual(
      received.map((e) => e.text),
      expected,
    );
    for (const name of ["dollar", "backtick", "semicolon", "and", "or", "format"]) {
      assert.equal(existsSync(marker(name)), false, `${name}: nothing was executed`);
    }
    // The agent is still the same healthy process.
    const pane = await town.pane("hq-deacon");
    assert.equal(pane?.generation, generation);
    assert.equal(pane.dead, false);
    assert.equal(pane.command, "2.1.7");
  });
});
