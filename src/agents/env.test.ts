import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIdentity } from "../town/identity.js";
import { agentEnv, newGenerationId } from "./env.js";

const base = { townRoot: "/town", generation: "gen1", session: "s1" };

/** The variables every agent gets besides its role's own. */
function common(identity: string): Record<string, string> {
  return {
    GT_ROOT: "/town",
    GT_TOWN_ROOT: "/town",
    TOWND_ROOT: "/town",
    TOWND_IDENTITY: identity,
    TOWND_SESSION: "s1",
    TOWND_GENERATION: "gen1",
  };
}

describe("agentEnv", () => {
  it("gives the mayor and the deacon their own actor", () => {
    assert.deepEqual(agentEnv(parseIdentity("mayor/"), base), {
      GT_ROLE: "mayor",
      BD_ACTOR: "mayor",
      GIT_AUTHOR_NAME: "mayor",
      ...common("mayor"),
    });
    assert.deepEqual(agentEnv(parseIdentity("deacon"), base), {
      GT_ROLE: "deacon",
      BD_ACTOR: "deacon",
      GIT_AUTHOR_NAME: "deacon",
      ...common("deacon"),
    });
  });

  it("gives boot the reference's deacon-boot actor", () => {
    assert.deepEqual(agentEnv(parseIdentity("boot"), base), {
      GT_ROLE: "boot",
      BD_ACTOR: "deacon-boot",
      GIT_AUTHOR_NAME: "boot",
      ...common("boot"),
    });
  });

  it("gives the witness its rig and actor, without BEADS_NO_DAEMON", () => {
    assert.deepEqual(agentEnv(parseIdentity("gastown-witness"), base), {
      GT_ROLE: "witness",
      GT_RIG: "gastown",
      BD_ACTOR: "gastown/witness",
      GIT_AUTHOR_NAME: "gastown/witness",
      ...common("gastown/witness"),
    });
  });

  it("gives the refinery GT_REFINERY=1 and BEADS_NO_DAEMON=1 (B51)", () => {
    assert.deepEqual(agentEnv(parseIdentity("gastown/refinery"), base), {
      GT_ROLE: "refinery",
      GT_RIG: "gastown",
      BD_ACTOR: "gastown/refinery",
      GIT_AUTHOR_NAME: "gastown/refinery",
      GT_REFINERY: "1",
      BEADS_NO_DAEMON: "1",
      ...common("gastown/refinery"),
    });
  });

  it("gives a polecat its name, beads agent name and BEADS_NO_DAEMON=1 (B111)", () => {
    assert.deepEqual(agentEnv(parseIdentity("gastown/toast"), base), {
      GT_ROLE: "polecat",
      GT_RIG: "gastown",
      GT_POLECAT: "toast",
      BD_ACTOR: "gastown/polecats/toast",
      GIT_AUTHOR_NAME: "toast",
      BEADS_AGENT_NAME: "gastown/toast",
      BEADS_NO_DAEMON: "1",
      ...common("gastown/polecats/toast"),
    });
  });

  it("gives crew GT_CREW and its beads agent name (B95)", () => {
    assert.deepEqual(agentEnv(parseIdentity("gastown-crew-joe"), base), {
      GT_ROLE: "crew",
      GT_RIG: "gastown",
      GT_CREW: "joe",
      BD_ACTOR: "gastown/crew/joe",
      GIT_AUTHOR_NAME: "joe",
      BEADS_AGENT_NAME: "gastown/joe",
      ...common("gastown/crew/joe"),
    });
  });

  it("exports GT_SESSION_ID_ENV only when the runtime has one (B94)", () => {
    const id = parseIdentity("deacon");
    assert.equal(
      agentEnv(id, { ...base, sessionIdEnv: "CLAUDE_SESSION_ID" })["GT_SESSION_ID_ENV"],
      "CLAUDE_SESSION_ID",
    );
    assert.equal("GT_SESSION_ID_ENV" in agentEnv(id, { ...base, sessionIdEnv: null }), false);
    assert.equal("GT_SESSION_ID_ENV" in agentEnv(id, base), false);
  });

  it("returns keys sorted, so the same agent always gets the same environment (B95)", () => {
    const keys = Object.keys(agentEnv(parseIdentity("gastown/polecats/toast"), base));
    assert.deepEqual(keys, [...keys].sort());
  });
});

describe("newGenerationId", () => {
  it("is base36 time padded to 9 characters, then 6 random characters", () => {
    assert.equal(
      newGenerationId(0, () => 0),
      "000000000000000",
    );
    assert.equal(
      newGenerationId(1_750_000_000_000, () => 0.999999),
      "0mbxstdz4zzzzzz",
    );
  });

  it("sorts by time as text", () => {
    const ids = [1, 35, 36, 1_000_000, 1_750_000_000_000].map((t) => newGenerationId(t, () => 0.5));
    assert.deepEqual([...ids].sort(), ids);
  });

  it("differs between spawns in the same millisecond", () => {
    let n = 0;
    const random = (): number => (n++ % 36) / 36;
    assert.notEqual(newGenerationId(5, random), newGenerationId(5, random));
  });

  it("stays in base36 when the random source misbehaves", () => {
    assert.match(
      newGenerationId(5, () => 1),
      /^[0-9a-z]{15}$/,
    );
    assert.match(
      newGenerationId(5, () => Number.NaN),
      /^[0-9a-z]{15}$/,
    );
  });
});
