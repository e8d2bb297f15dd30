import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PERMISSION_WAIT_LIMIT_MS, needsYou, type AgentView } from "./needs-you.js";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

function agent(
  identity: string,
  state: string,
  activity?: Partial<NonNullable<AgentView["activity"]>>,
): AgentView {
  return {
    identity,
    state,
    detail: null,
    activity:
      activity === undefined
        ? null
        : { state: "idle", since: ago(1000), detail: "", resets_at: null, ...activity },
  };
}

describe("needsYou()", () => {
  it("lists needs-human, login, walls, crash loops and failed starts, each agent once", () => {
    const { needs, nextChangeAt } = needsYou(
      [
        agent("a", "running", { state: "idle" }),
        agent("b", "needs-human", { state: "dialog" }),
        agent("c", "running", { state: "rate-limited", detail: "session limit", resets_at: ago(-3_600_000) }),
        agent("d", "crash-loop", { state: "dead" }),
        { ...agent("e", "failed-to-start"), detail: "claude not found; fix: install it" },
        agent("f", "running", { state: "auth-required", detail: "Not logged in" }),
        agent("g", "running", { state: "working" }),
        agent("h", "backoff"),
      ],
      NOW,
    );
    assert.deepEqual(
      needs.map((n) => [n.identity, n.kind]),
      [
        ["b", "needs-human"],
        ["c", "wall"],
        ["d", "crash-loop"],
        ["e", "failed-to-start"],
        ["f", "auth-required"],
      ],
    );
    assert.equal(needs.find((n) => n.kind === "wall")?.until, ago(-3_600_000));
    assert.equal(
      needs.find((n) => n.kind === "failed-to-start")?.detail,
      "claude not found; fix: install it",
    );
    assert.equal(nextChangeAt, null);
  });

  it("counts a permission wait only past its limit, and says when a shorter one will reach it", () => {
    const young = agent("p", "running", {
      state: "awaiting-permission",
      since: ago(60_000),
      detail: "Bash: rm",
    });
    const old = agent("q", "running", { state: "awaiting-permission", since: ago(PERMISSION_WAIT_LIMIT_MS) });
    const first = needsYou([young, old], NOW);
    assert.deepEqual(
      first.needs.map((n) => [n.identity, n.kind]),
      [["q", "permission"]],
    );
    assert.equal(first.nextChangeAt, NOW - 60_000 + PERMISSION_WAIT_LIMIT_MS);
    const later = needsYou([young], NOW - 60_000 + PERMISSION_WAIT_LIMIT_MS);
    assert.deepEqual(
      later.needs.map((n) => [n.identity, n.detail]),
      [["p", "Bash: rm"]],
    );
  });

  it("is empty for a healthy town", () => {
    assert.deepEqual(needsYou([agent("a", "running", { state: "working" }), agent("m", "disabled")], NOW), {
      needs: [],
      nextChangeAt: null,
    });
  });
});
