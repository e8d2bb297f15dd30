import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rigGate } from "./rig-state.js";

describe("rigGate() (reference §6.2)", () => {
  it('B42: values.status "parked" → not operational, "rig is parked"', () => {
    assert.deepEqual(rigGate({ values: { status: "parked" } }), {
      operational: false,
      reason: "rig is parked",
      status: "parked",
    });
  });

  it('B43: values.status "docked" → not operational, "rig is docked"', () => {
    assert.deepEqual(rigGate({ values: { status: "docked" } }), {
      operational: false,
      reason: "rig is docked",
      status: "docked",
    });
  });

  it('B44: "auto_restart" in blocked → not operational, "auto_restart is blocked"', () => {
    const gate = rigGate({ values: {}, blocked: ["auto_restart"] });
    assert.equal(gate.operational, false);
    assert.equal(gate.reason, "auto_restart is blocked");
  });

  it('B45: values.auto_restart false → not operational, "auto_restart is disabled"', () => {
    const gate = rigGate({ values: { auto_restart: false } });
    assert.equal(gate.operational, false);
    assert.equal(gate.reason, "auto_restart is disabled");
  });

  it("B46: a missing wisp config (or an empty one) is operational", () => {
    for (const wisp of [undefined, {}, { values: {} }, { rig: "x", values: {}, blocked: [] }]) {
      assert.deepEqual(rigGate(wisp), { operational: true, reason: "", status: "operational" });
    }
  });

  it("only the boolean false disables auto_restart; true or a string does not", () => {
    assert.equal(rigGate({ values: { auto_restart: true } }).operational, true);
    assert.equal(rigGate({ values: { auto_restart: "false" } }).operational, true);
    assert.equal(rigGate({ values: { auto_restart: 0 } }).operational, true);
  });

  it("status counts only as a string and only when 'status' is not blocked", () => {
    assert.equal(rigGate({ values: { status: "parked" }, blocked: ["status"] }).operational, true);
    assert.equal(rigGate({ values: { status: ["parked"] } }).operational, true);
    assert.equal(rigGate({ values: { status: "active" } }).operational, true);
    assert.equal(
      rigGate({ values: { status: "Parked" } }).operational,
      true,
      "case-sensitive, as the reference",
    );
  });

  it("parked and docked come before the auto_restart checks", () => {
    assert.equal(
      rigGate({ values: { status: "parked", auto_restart: false }, blocked: ["auto_restart"] }).reason,
      "rig is parked",
    );
    assert.equal(rigGate({ values: { status: "docked", auto_restart: false } }).reason, "rig is docked");
    assert.equal(
      rigGate({ values: { auto_restart: false }, blocked: ["auto_restart"] }).reason,
      "auto_restart is blocked",
      "blocked is checked before the value (B44 before B45)",
    );
  });
});
