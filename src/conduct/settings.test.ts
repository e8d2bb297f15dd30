import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settingsSchema } from "../town/schemas.js";
import { daemonSettings } from "../town/settings.js";
import { DEFAULT_CONDUCT } from "./settings.js";

const daemon = (fields: Record<string, unknown>) => ({ operational: { daemon: fields } });

describe("conduct settings", () => {
  it("has safe defaults: approves nothing, 80 % context, every limit as documented", () => {
    const conduct = daemonSettings(undefined).conduct;
    assert.deepEqual(conduct.permission.autoApprove, []);
    assert.equal(conduct.contextCyclePercent("polecat"), 80);
    assert.deepEqual(conduct.wall, DEFAULT_CONDUCT.wall);
    assert.equal(conduct.idlePatrolNudgeAfterMs, 15 * 60_000);
  });

  it("reads every setting, per role for the context threshold", () => {
    const file = settingsSchema.parse(
      daemon({
        usage_limits: { wake_skew: "1m", wake_stagger: "2s", max_wakes: 5 },
        permission_wait: { notify_after: "30s", auto_approve: [{ tool: "Bash", command: "^npm test$" }] },
        idle_patrol_nudge_after: "0",
        stuck: { after: "10m", rung_wait: "1m" },
        context_cycle_percent: { default: 90, crew: null },
      }),
    );
    const conduct = daemonSettings(file).conduct;
    assert.equal(conduct.wall.skewMs, 60_000);
    assert.equal(conduct.wall.staggerMs, 2000);
    assert.equal(conduct.wall.maxWakes, 5);
    assert.equal(conduct.permission.notifyAfterMs, 30_000);
    assert.ok(conduct.permission.autoApprove[0]?.command.test("npm test"));
    assert.equal(conduct.permission.autoApprove[0]?.command.test("npm test; rm -rf /"), false);
    assert.equal(conduct.idlePatrolNudgeAfterMs, 0);
    assert.deepEqual(conduct.stuck, { afterMs: 600_000, rungWaitMs: 60_000 });
    assert.equal(conduct.contextCyclePercent("crew"), null);
    assert.equal(conduct.contextCyclePercent("witness"), 90);
  });

  it("refuses an approval rule whose pattern is no regular expression, or a bad duration, naming the field", () => {
    const bad = settingsSchema.safeParse(
      daemon({ permission_wait: { auto_approve: [{ tool: "Bash", command: "(" }] } }),
    );
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error.issues), /auto_approve.*not a valid regular expression/);
    const duration = settingsSchema.safeParse(daemon({ stuck: { after: "soon" } }));
    assert.equal(duration.success, false);
    const percent = settingsSchema.safeParse(daemon({ context_cycle_percent: 140 }));
    assert.equal(percent.success, false);
  });
});
