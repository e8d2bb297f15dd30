import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SupervisedTown } from "../helpers/supervised-town.js";
import { sleep, until } from "../helpers/wait.js";
import {
  createClaudeTown,
  destroyClaudeTown,
  eventsOfType,
  isRoot,
  scrollback,
  skipWithoutClaude,
  type ClaudeTown,
} from "./_claude.js";

/**
 * As root, Claude Code refuses `--dangerously-skip-permissions` unless IS_SANDBOX=1 is set: it prints
 * `--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons` and exits 1
 * at once (test/fixtures/claude-2.1.332/root-refusal.txt). A town whose agents all hit that is misconfigured,
 * not a fleet dying: every agent must end up `failed-to-start` with a `failed_to_start` event that says why,
 * and the daemon must not call it a mass death.
 */

const REFUSAL = /root\/sudo|root privileges|as root/i;
/** How long the daemon gets to settle, and the window in which no mass_death may appear. */
const WINDOW_MS = 60_000;

describe(
  "real Claude Code as root without IS_SANDBOX",
  { timeout: 150_000, skip: skipWithoutClaude(isRoot() ? false : "only meaningful as root") },
  () => {
    let ct: ClaudeTown;
    let town: SupervisedTown;
    let built = false;
    let startedAt = 0;
    const identities = ["deacon", "r1/witness", "r1/refinery"];

    const logTail = (n = 25): string =>
      town
        .log()
        .slice(-n)
        .map((r) => `${r.time} ${r.agent ?? ""} ${r.msg}`)
        .join("\n");

    const detail = async (): Promise<string> => {
      const status = town.snapshot();
      const states = status.agents
        .filter((a) => identities.includes(a.identity))
        .map((a) => `${a.identity}: ${a.state} (restarts ${a.restarts}, last exit ${a.last_exit ?? "-"})`);
      const screens = await Promise.all(
        // With history: once tmux marks the pane dead, what claude printed is no longer on the visible screen.
        Object.values(ct.sessions).map(async (s) => `--- ${s}\n${(await scrollback(town, s)).trim()}`),
      );
      const events = eventsOfType(town, "failed_to_start", "mass_death", "crash_loop").map(
        (e) => `${e.type} ${e.identity ?? ""}: ${e.reason}`,
      );
      return ["--- states", ...states, "--- events", ...events, ...screens, "--- daemon log", logTail()].join(
        "\n",
      );
    };

    before(async () => {
      ct = await createClaudeTown({ sandbox: false, passInterval: "5s", deaconGrace: "30s" });
      town = ct.town;
      built = true;
      startedAt = Date.now();
      await town.start();
    });

    after(async () => {
      // before() may have failed before the town existed.
      if (!built) return;
      await destroyClaudeTown(ct);
    });

    it("shows every patrol agent as failed-to-start in status --json", async () => {
      await town
        .waitFor(
          (s) => identities.every((id) => town.agent(s, id).state === "failed-to-start"),
          WINDOW_MS,
          "deacon, r1/witness and r1/refinery to be failed-to-start",
        )
        .catch(async (error: unknown) => {
          throw new Error(`${(error as Error).message}\n${await detail()}`);
        });
      const status = await town.status();
      for (const identity of identities) {
        assert.equal(town.agent(status, identity).state, "failed-to-start", `${identity} in status --json`);
      }
    });

    it("records a failed_to_start event per agent that names the root refusal", async () => {
      const found = await until(
        "a failed_to_start event naming the root refusal for each agent",
        () => {
          const events = eventsOfType(town, "failed_to_start");
          const named = identities.map((id) =>
            events.find((e) => e.identity === id && REFUSAL.test(`${e.reason} ${JSON.stringify(e.data)}`)),
          );
          return named.every((e) => e !== undefined) ? named : undefined;
        },
        WINDOW_MS,
      ).catch(async (error: unknown) => {
        throw new Error(`${(error as Error).message}\n${await detail()}`);
      });
      assert.equal(found.length, identities.length);
    });

    it("raises no mass_death within 60 s of the start", async () => {
      for (;;) {
        const deaths = eventsOfType(town, "mass_death");
        if (deaths.length > 0)
          assert.fail(`mass_death: ${deaths.map((e) => e.reason).join("; ")}\n${await detail()}`);
        const left = startedAt + WINDOW_MS - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(2_000, left));
      }
      assert.equal(
        town.log().filter((r) => r.msg.startsWith("ALERT mass_death")).length,
        0,
        "no mass_death alert in the daemon log",
      );
    });
  },
);
