import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIdentity } from "../town/identity.js";
import { workDir } from "./work-dir.js";

const T = "/town";

/** A fake filesystem holding exactly `dirs`. */
function fs(...dirs: string[]): (path: string) => boolean {
  const set = new Set(dirs);
  return (path) => set.has(path);
}

const dirOf = (identity: string, exists = fs()): string => workDir(parseIdentity(identity), T, exists);

describe("workDir", () => {
  it("starts the mayor in the town root", () => {
    assert.equal(dirOf("mayor"), "/town");
  });

  it("starts the deacon in <T>/deacon and boot in <T>/deacon/dogs/boot", () => {
    assert.equal(dirOf("deacon"), "/town/deacon");
    assert.equal(dirOf("boot"), "/town/deacon/dogs/boot");
  });

  it("uses <rig>/witness/rig, else <rig>/witness, else the rig root for the witness (B52)", () => {
    const both = fs("/town/gastown/witness/rig", "/town/gastown/witness");
    assert.equal(dirOf("gastown/witness", both), "/town/gastown/witness/rig");
    assert.equal(dirOf("gastown/witness", fs("/town/gastown/witness")), "/town/gastown/witness");
    assert.equal(dirOf("gastown/witness"), "/town/gastown");
  });

  it("uses <rig>/refinery/rig, else <rig>/mayor/rig, else the rig root for the refinery (B51)", () => {
    const both = fs("/town/gastown/refinery/rig", "/town/gastown/mayor/rig");
    assert.equal(dirOf("gastown-refinery", both), "/town/gastown/refinery/rig");
    assert.equal(dirOf("gastown-refinery", fs("/town/gastown/mayor/rig")), "/town/gastown/mayor/rig");
    assert.equal(dirOf("gastown-refinery"), "/town/gastown");
  });

  it("prefers the polecat's worktree layout and falls back to its home (B89)", () => {
    const worktree = fs("/town/gastown/polecats/toast/gastown");
    assert.equal(dirOf("gastown/toast", worktree), "/town/gastown/polecats/toast/gastown");
    assert.equal(dirOf("gastown-polecat-toast"), "/town/gastown/polecats/toast");
  });

  it("starts crew in <rig>/crew/<name> (B89)", () => {
    assert.equal(dirOf("gastown/crew/joe"), "/town/gastown/crew/joe");
  });

  it("refuses a hand-built identity that would leave the town", () => {
    assert.throws(() => workDir({ role: "crew", rig: "gastown", name: "../../etc" }, T, fs()), /agent name/);
    assert.throws(() => workDir({ role: "witness", rig: ".." }, T, fs()), /rig name/);
  });
});
