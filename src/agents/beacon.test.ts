import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatStartupBeacon, propulsionNudge } from "./beacon.js";

// Built from local fields, so the expected text holds in any time zone.
const now = new Date(2025, 11, 30, 15, 42, 59);

describe("formatStartupBeacon", () => {
  it("formats the deacon's patrol beacon without extras (B31)", () => {
    assert.equal(
      formatStartupBeacon({ recipient: "deacon", sender: "daemon", topic: "patrol" }, now),
      "[GAS TOWN] deacon <- daemon • 2025-12-30T15:42 • patrol",
    );
  });

  it("gives lifecycle-restart no extras (B96)", () => {
    assert.equal(
      formatStartupBeacon(
        { recipient: "gastown/witness", sender: "deacon", topic: "lifecycle-restart" },
        now,
      ),
      "[GAS TOWN] gastown/witness <- deacon • 2025-12-30T15:42 • lifecycle-restart",
    );
  });

  it("combines topic and molecule, and falls back to the molecule or ready", () => {
    const b = { recipient: "gastown/crew/gus", sender: "deacon" };
    assert.match(
      formatStartupBeacon({ ...b, topic: "patrol", molId: "gt-abc12" }, now),
      / • patrol:gt-abc12$/,
    );
    assert.match(formatStartupBeacon({ ...b, molId: "gt-abc12" }, now), / • gt-abc12$/);
    assert.match(formatStartupBeacon(b, now), / • ready$/);
  });

  it("adds the hook-and-mail list for handoff and cold-start", () => {
    const list =
      "\n\nCheck your hook and mail, then act on the hook if present:\n" +
      "1. `gt hook` - shows hooked work (if any)\n" +
      "2. `gt mail inbox` - check for messages\n" +
      "3. If work is hooked → execute it immediately\n" +
      "4. If nothing hooked → wait for instructions";
    for (const topic of ["handoff", "cold-start"]) {
      assert.equal(
        formatStartupBeacon({ recipient: "deacon", sender: "mayor", topic }, now),
        `[GAS TOWN] deacon <- mayor • 2025-12-30T15:42 • ${topic}${list}`,
      );
    }
  });

  it("tells an assigned agent to run its hook, also with a molecule", () => {
    assert.equal(
      formatStartupBeacon(
        { recipient: "gastown/crew/gus", sender: "deacon", topic: "assigned", molId: "gt-abc12" },
        now,
      ),
      "[GAS TOWN] gastown/crew/gus <- deacon • 2025-12-30T15:42 • assigned:gt-abc12\n\n" +
        "Work is on your hook. Run `gt hook` now and begin immediately.",
    );
  });

  it("tells a started or restarted agent to prime", () => {
    for (const topic of ["start", "restart"]) {
      assert.match(
        formatStartupBeacon({ recipient: "mayor", sender: "self", topic }, now),
        /\n\nRun `gt prime` now for full context, then check your hook and mail\.$/,
      );
    }
  });

  it("keeps the header on one line whatever the fields hold", () => {
    const text = formatStartupBeacon({ recipient: "a\nb", sender: "c\u001b", topic: "x\ry" }, now);
    assert.equal(text, "[GAS TOWN] a b <- c  • 2025-12-30T15:42 • x y");
  });

  it("does not treat Object.prototype members as topics", () => {
    assert.equal(
      formatStartupBeacon({ recipient: "deacon", sender: "daemon", topic: "constructor" }, now),
      "[GAS TOWN] deacon <- daemon • 2025-12-30T15:42 • constructor",
    );
  });
});

describe("propulsionNudge", () => {
  it("has the reference's text for each role", () => {
    assert.equal(propulsionNudge("polecat"), "Run `gt hook` to check your hook and begin work.");
    assert.equal(propulsionNudge("crew"), "Run `gt hook` to check your hook and begin work.");
    assert.equal(propulsionNudge("boot"), "Run `gt hook` to check your hook and begin work.");
    assert.equal(propulsionNudge("witness"), "Run `gt prime` to check patrol status and begin work.");
    assert.equal(propulsionNudge("refinery"), "Run `gt prime` to check MQ status and begin patrol.");
    assert.equal(
      propulsionNudge("deacon"),
      "Run `gt prime` to check patrol status and begin heartbeat cycle.",
    );
    assert.equal(propulsionNudge("mayor"), "Run `gt prime` to check mail and begin coordination.");
  });

  it("appends the session id when there is one", () => {
    assert.equal(
      propulsionNudge("deacon", " abc-123\n"),
      "Run `gt prime` to check patrol status and begin heartbeat cycle. [session:abc-123]",
    );
    assert.equal(propulsionNudge("mayor", "  "), "Run `gt prime` to check mail and begin coordination.");
  });
});
