import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyRecord } from "../policy/record.js";
import { ArmedBook } from "./armed-book.js";
import type { ObservedAgent } from "./observe.js";

const observed = (identity: string, generation: string): ObservedAgent =>
  ({
    desired: { identity },
    pane: undefined,
    verdict: "alive",
    verdictReason: "running",
    generation,
  }) as unknown as ObservedAgent;

describe("ArmedBook", () => {
  it("sees a pane running its armed generation, with the record on the old one, as a death tmux answered", () => {
    const book = new ArmedBook();
    book.start(5);
    book.arm("a", { session: "gt-a", generation: "g2" });
    const records = new Map([["a", { ...emptyRecord("a", "gt-a"), generation: "g1" }]]);
    const [same] = book.fired([observed("a", "g1")], records);
    assert.equal(same?.verdict, "alive");
    const [fired] = book.fired([observed("a", "g2")], records);
    assert.equal(fired?.verdict, "dead");
    assert.equal(fired.armedRespawn, "g2");
    assert.deepEqual([...book.identities()], [], "a fired hook is no longer armed");
    assert.equal(book.limit(2), 5 + 1 + 2, "the server's count at start, plus recorded, plus tokens");
  });

  it("takes agents out before the daemon acts, and releases what a plan no longer arms", () => {
    const book = new ArmedBook();
    book.arm("a", { session: "gt-a", generation: "g" });
    book.arm("b", { session: "gt-b", generation: "g" });
    assert.deepEqual(
      book.take(["a", "c"]).map((p) => p.session),
      ["gt-a"],
    );
    const plan = { armed: new Set(["c"]), tokens: 1, wakeAt: null };
    assert.deepEqual(
      book.release(plan).map((p) => p.session),
      ["gt-b"],
    );
    assert.deepEqual(book.toArm(plan), ["c"]);
  });

  it("counts from 0 on a restarted tmux server, whose fired count starts again at 0", () => {
    const book = new ArmedBook();
    book.start(40);
    book.arm("a", { session: "gt-a", generation: "g" });
    book.serverRestarted();
    assert.equal(book.limit(2), 2, "only the plan's tokens, not the old server's count");
    assert.deepEqual([...book.identities()], []);
  });
});
