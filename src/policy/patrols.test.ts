import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TownConfig } from "../town/config.js";
import type { PatrolConfig, WispConfig } from "../town/schemas.js";
import { daemonSettings } from "../town/settings.js";
import { desiredAgents } from "./desired.js";
import { patrolCoversRig, patrolEnabled, type PatrolName } from "./patrols.js";

const ALL: PatrolName[] = ["deacon", "witness", "refinery", "mayor"];

function enabledSet(config: PatrolConfig | undefined): PatrolName[] {
  return ALL.filter((patrol) => patrolEnabled(config, patrol));
}

describe("patrolEnabled() (reference §6.3)", () => {
  it("B21: no daemon.json enables deacon, witness and refinery; the mayor stays off", () => {
    assert.deepEqual(enabledSet(undefined), ["deacon", "witness", "refinery"]);
  });

  it("B21: a daemon.json without patrols, or with an empty patrols object, enables the same", () => {
    assert.deepEqual(enabledSet({ type: "daemon-patrol-config", version: 1 }), [
      "deacon",
      "witness",
      "refinery",
    ]);
    assert.deepEqual(enabledSet({ patrols: {} }), ["deacon", "witness", "refinery"]);
  });

  it("B22: patrols.refinery.enabled=false disables the refinery only", () => {
    assert.deepEqual(enabledSet({ patrols: { refinery: { enabled: false } } }), ["deacon", "witness"]);
  });

  it("B23: a patrol object without an enabled field is disabled", () => {
    assert.deepEqual(enabledSet({ patrols: { witness: { interval: "5m" }, deacon: {} } }), ["refinery"]);
  });

  it("the mayor is supervised only with patrols.mayor.enabled true", () => {
    assert.equal(patrolEnabled({ patrols: { mayor: { enabled: true } } }, "mayor"), true);
    assert.equal(patrolEnabled({ patrols: { mayor: {} } }, "mayor"), false);
    assert.equal(patrolEnabled({ patrols: { mayor: { enabled: false } } }, "mayor"), false);
  });

  it("explicit enabled: true keeps a patrol on", () => {
    const config = {
      patrols: { deacon: { enabled: true }, witness: { enabled: true }, refinery: { enabled: true } },
    };
    assert.deepEqual(enabledSet(config), ["deacon", "witness", "refinery"]);
  });
});

describe("patrolCoversRig() (rigs filter)", () => {
  it("no rigs list covers every rig; a list covers only its rigs; an empty list covers none", () => {
    assert.equal(patrolCoversRig(undefined, "witness", "gastown"), true);
    assert.equal(patrolCoversRig({ patrols: { witness: { enabled: true } } }, "witness", "gastown"), true);
    const config = { patrols: { witness: { enabled: true, rigs: ["gastown"] }, refinery: { rigs: [] } } };
    assert.equal(patrolCoversRig(config, "witness", "gastown"), true);
    assert.equal(patrolCoversRig(config, "witness", "beta"), false);
    assert.equal(patrolCoversRig(config, "refinery", "gastown"), false);
    assert.equal(patrolCoversRig(config, "deacon", "gastown"), true, "another patrol's list does not apply");
  });
});

function townConfig(
  patrols: PatrolConfig | undefined,
  rigNames: string[],
  wisp: Record<string, WispConfig> = {},
): TownConfig {
  return {
    settings: {},
    daemon: daemonSettings(undefined),
    patrols,
    rigs: { version: 1, rigs: Object.fromEntries(rigNames.map((name) => [name, {}])) },
    wisp: new Map(Object.entries(wisp)),
    rigSettings: new Map(),
  };
}

describe("desiredAgents()", () => {
  it("B20/B26: deacon, mayor, then each rig's witness, then each rig's refinery, rigs sorted", () => {
    const agents = desiredAgents(townConfig(undefined, ["zeta", "alpha"]));
    assert.deepEqual(
      agents.map((a) => [a.identity, a.session, a.wanted]),
      [
        ["deacon", "hq-deacon", true],
        ["mayor", "hq-mayor", false],
        ["alpha/witness", "gt-alpha-witness", true],
        ["zeta/witness", "gt-zeta-witness", true],
        ["alpha/refinery", "gt-alpha-refinery", true],
        ["zeta/refinery", "gt-zeta-refinery", true],
      ],
    );
  });

  it("B24: a disabled patrol holds its agents with a reason naming mayor/daemon.json", () => {
    const agents = desiredAgents(
      townConfig({ patrols: { deacon: { enabled: false }, refinery: { enabled: false } } }, ["gastown"]),
    );
    const deacon = agents.find((a) => a.identity === "deacon");
    assert.equal(deacon?.wanted, false);
    assert.equal(deacon.held, "disabled");
    assert.match(deacon.heldReason, /deacon patrol disabled in mayor\/daemon\.json/);
    assert.equal(agents.find((a) => a.identity === "gastown/refinery")?.held, "disabled");
    assert.equal(agents.find((a) => a.identity === "gastown/witness")?.wanted, true);
  });

  it("B42–B45: parked, docked and no-auto-restart rigs hold their witness and refinery", () => {
    const agents = desiredAgents(
      townConfig(undefined, ["p", "d", "b", "f", "ok"], {
        p: { values: { status: "parked" } },
        d: { values: { status: "docked" } },
        b: { blocked: ["auto_restart"] },
        f: { values: { auto_restart: false } },
      }),
    );
    const held = (identity: string): [boolean | undefined, string | null | undefined, string | undefined] => {
      const agent = agents.find((a) => a.identity === identity);
      return [agent?.wanted, agent?.held, agent?.heldReason];
    };
    assert.deepEqual(held("p/witness"), [false, "parked", "rig is parked"]);
    assert.deepEqual(held("d/refinery"), [false, "docked", "rig is docked"]);
    assert.deepEqual(held("b/witness"), [false, "no-auto-restart", "auto_restart is blocked"]);
    assert.deepEqual(held("f/refinery"), [false, "no-auto-restart", "auto_restart is disabled"]);
    assert.deepEqual(held("ok/witness"), [true, null, ""]);
  });

  it("Boot is listed after the Deacon only when daemon.json names it, and runs only when enabled", () => {
    const boot = (patrols: PatrolConfig["patrols"]): [boolean, string | null, string] | undefined => {
      const agent = desiredAgents(townConfig({ patrols }, [])).find((a) => a.identity === "boot");
      return (
        agent && [agent.wanted, agent.session === "gt-boot" ? agent.held : "wrong session", agent.heldReason]
      );
    };
    assert.equal(boot({}), undefined);
    assert.equal(patrolEnabled({ patrols: {} }, "boot"), false);
    assert.deepEqual(boot({ boot: { enabled: true } }), [true, null, ""]);
    assert.deepEqual(boot({ boot: {} }), [false, "disabled", "boot patrol disabled in mayor/daemon.json"]);
    assert.deepEqual(boot({ boot: { enabled: true }, deacon: { enabled: false } }), [
      false,
      "disabled",
      "deacon patrol disabled in mayor/daemon.json",
    ]);
    const order = desiredAgents(townConfig({ patrols: { boot: { enabled: true } } }, [])).map(
      (a) => a.identity,
    );
    assert.deepEqual(order, ["deacon", "boot", "mayor"]);
  });

  it("the rigs filter holds the agents of rigs outside the list", () => {
    const agents = desiredAgents(
      townConfig({ patrols: { witness: { enabled: true, rigs: ["a"] } } }, ["a", "b"]),
    );
    assert.equal(agents.find((a) => a.identity === "a/witness")?.wanted, true);
    const b = agents.find((a) => a.identity === "b/witness");
    assert.equal(b?.wanted, false);
    assert.match(b.heldReason, /rigs list/);
    assert.equal(agents.find((a) => a.identity === "b/refinery")?.wanted, true);
  });
});
