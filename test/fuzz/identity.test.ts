import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../src/errors.js";
import { parseLifecycleMessage } from "../../src/lifecycle/parse.js";
import type { Message } from "../../src/store/mail.js";
import { formatIdentity, parseIdentity, sessionName, type AgentId } from "../../src/town/identity.js";
import { desiredAgents } from "../../src/policy/desired.js";
import type { TownConfig } from "../../src/town/config.js";
import { daemonSettings } from "../../src/town/settings.js";
import { CONTROL, Gen, LINE_BREAK, fuzzSeed, show, targetRng } from "./_gen.js";

/**
 * Fuzzes agent identities (every spelling parseIdentity accepts, and hostile text) and lifecycle request mail.
 * Properties: parseIdentity accepts or throws AppError with a one-line message; an accepted identity's
 * canonical form round-trips and its tmux session name is `^[A-Za-z0-9_-]+$`; parseLifecycleMessage never
 * throws and never yields an identity that parseIdentity refuses.
 *
 * Reproduce a failure: FUZZ_SEED=<seed> node --import tsx --test test/fuzz/identity.test.ts
 */

const SEED = fuzzSeed(0x1de47177);
const CANARY = "/tmp/townd-fuzz-identity-CANARY";
const SESSION = /^[A-Za-z0-9_-]+$/;

/** An identity-shaped string: a real form with fuzzed parts, or hostile text. */
function identityText(g: Gen): string {
  const part = (): string =>
    g.pick<() => string>([
      () => g.nameish(8),
      () => g.word(6),
      () => g.hostile(CANARY, 2),
      () =>
        g.pick([
          "witness",
          "refinery",
          "crew",
          "polecats",
          "polecat",
          "mayor",
          "deacon",
          "boot",
          "dogs",
          "..",
        ]),
      () => `${g.word(3)}.${g.word(3)}`,
      () => `${g.word(3)}_${g.word(3)}`,
      () => `${g.word(3)}-${g.word(3)}`,
      // A tiny alphabet, so that different identities meet on the same session name.
      () => g.pick(["a", "b", "c", "a-b", "b-c", "a.b", "a_b", "x-crew", "crew-y", "b-witness", "a-b-c"]),
    ])();
  const roll = g.rng();
  if (roll < 0.15) return g.hostile(CANARY, 4);
  if (roll < 0.2) return g.unicode(6);
  const forms: (() => string)[] = [
    () =>
      g.pick([
        "mayor",
        "deacon",
        "boot",
        "mayor/",
        "deacon/",
        "boot/",
        "deacon-boot",
        "deacon/boot",
        "deacon/dogs/boot",
      ]),
    () => `${part()}-witness`,
    () => `${part()}-refinery`,
    () => `${part()}-crew-${part()}`,
    () => `${part()}-polecat-${part()}`,
    () => `${part()}/witness`,
    () => `${part()}/refinery`,
    () => `${part()}/crew/${part()}`,
    () => `${part()}/polecats/${part()}`,
    () => `${part()}/${part()}`,
    () => `${part()}/${part()}/${part()}`,
    () => `${part()}/${part()}/${part()}/${part()}`,
  ];
  const text = g.pick(forms)();
  return g.bool(0.1) ? `${text}/` : text;
}

interface Failure {
  n: number;
  input: string;
  problem: string;
}

function report(failures: readonly Failure[], what: string): string {
  const shown = failures
    .slice(0, 10)
    .map((f) => `  #${f.n} ${f.problem}\n      input: ${show(f.input, 200)}`)
    .join("\n");
  return `${failures.length} ${what} (FUZZ_SEED=${SEED}):\n${shown}`;
}

describe(`fuzzed identities and lifecycle mail (FUZZ_SEED=${SEED})`, () => {
  const collisions = new Map<string, Set<string>>();
  const roundTrip: Failure[] = [];

  it("parseIdentity: accepts or throws a one-line AppError; accepted identities round-trip to safe session names (4000 cases)", (t) => {
    const g = new Gen(targetRng(SEED, "identity"));
    const failures: Failure[] = [];
    let accepted = 0;
    const CASES = 4000;
    for (let n = 0; n < CASES; n++) {
      const text = identityText(g);
      let id: AgentId;
      try {
        id = parseIdentity(text);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== "E_BAD_IDENTITY") {
          failures.push({ n, input: text, problem: `threw ${String(error)}` });
        } else if (LINE_BREAK.test(error.message) || CONTROL.test(error.message)) {
          failures.push({ n, input: text, problem: `message is not one clean line: ${show(error.message)}` });
        }
        continue;
      }
      accepted++;
      const canonical = formatIdentity(id);
      let again: AgentId;
      try {
        again = parseIdentity(canonical);
      } catch (error) {
        roundTrip.push({
          n,
          input: text,
          problem: `canonical ${show(canonical)} is refused: ${String(error)}`,
        });
        continue;
      }
      try {
        assert.deepEqual(again, id, "the canonical form parses to the same identity");
        assert.equal(formatIdentity(again), canonical, "the canonical form is a fixed point");
        const session = sessionName(id);
        assert.match(session, SESSION, "session name");
        assert.equal(sessionName(again), session);
        const owners = collisions.get(session) ?? new Set<string>();
        owners.add(canonical);
        collisions.set(session, owners);
      } catch (error) {
        failures.push({ n, input: text, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    const shared = [...collisions.values()].filter((owners) => owners.size > 1).length;
    t.diagnostic(
      `${CASES} identities, ${accepted} accepted; ${shared} tmux session names shared by distinct identities; ` +
        `${roundTrip.length} accepted spellings whose canonical form is refused (todo tests)`,
    );
    assert.equal(failures.length, 0, report(failures, "identity failures"));
    assert.ok(accepted > CASES / 5, `enough accepted identities to mean something (${accepted})`);
  });

  it("collects the tmux session names of identities built from a tiny alphabet (1000 cases)", (t) => {
    // Few distinct parts, so that different identities meet: what a town with rigs `a` and `a-b` looks like.
    const g = new Gen(targetRng(SEED, "sessions"));
    const parts = [
      "a",
      "b",
      "c",
      "a-b",
      "b-c",
      "a.b",
      "a_b",
      "x",
      "y",
      "x-crew",
      "crew-y",
      "b-witness",
      "b-refinery",
    ];
    let accepted = 0;
    for (let n = 0; n < 1000; n++) {
      const rig = g.pick(parts);
      const name = g.pick(parts);
      const text = g.pick([
        `${rig}/polecats/${name}`,
        `${rig}/crew/${name}`,
        `${rig}/witness`,
        `${rig}/refinery`,
      ]);
      let id: AgentId;
      try {
        id = parseIdentity(text);
      } catch {
        continue;
      }
      accepted++;
      const session = sessionName(id);
      assert.match(session, SESSION);
      const owners = collisions.get(session) ?? new Set<string>();
      owners.add(formatIdentity(id));
      collisions.set(session, owners);
    }
    const shared = [...collisions.values()].filter((owners) => owners.size > 1).length;
    t.diagnostic(
      `${accepted} accepted; ${shared} session names now shared by distinct identities (see the I1 todo)`,
    );
  });

  it("parseLifecycleMessage never throws and never yields an identity parseIdentity refuses (3000 cases)", (t) => {
    const g = new Gen(targetRng(SEED, "lifecycle"));
    const failures: Failure[] = [];
    const kinds = new Map<string, number>();
    const now = Date.parse("2026-06-01T12:00:00Z");
    const maxAge = 6 * 3600_000;
    const CASES = 3000;
    for (let n = 0; n < CASES; n++) {
      const action = g.pick([
        "cycle",
        "restart",
        "shutdown",
        "stop",
        "CYCLE",
        "Restart",
        " cycle ",
        g.hostile(CANARY, 2),
        "",
        "__proto__",
        "constructor",
      ]);
      const body = g.pick<() => string>([
        () => JSON.stringify({ action, reason: g.hostile(CANARY, 3) }),
        () => JSON.stringify({ action }),
        () => JSON.stringify({ action: g.bool() ? 1 : null, reason: 5 }),
        () => action,
        () => `action: ${action}`,
        () => `{"action": "${action}"`,
        () => g.hostile(CANARY, 5),
        () => JSON.stringify([action]),
        () => '{"__proto__": {"action": "cycle"}}',
        () => `{"action":"cycle","action":"${action}"}`,
        () => "null",
        () => "",
      ])();
      const subject = g.pick<() => string>([
        () => `LIFECYCLE: ${identityText(g)} requesting ${action}`,
        () => `lifecycle:${g.hostile(CANARY, 2)}`,
        () => `Lifecycle: ${action}`,
        () => g.hostile(CANARY, 3),
        () => `re: lifecycle: ${action}`,
      ])();
      const timestamp = g.pick<() => string>([
        () => new Date(now - g.int(0, 10 * 3600_000)).toISOString(),
        () => new Date(now + g.int(0, 3600_000)).toISOString(),
        () => g.hostile(CANARY, 2),
        () => "0001-01-01T00:00:00Z",
        () => "",
        () => "9999-12-31T23:59:59Z",
        () => String(g.int(0, 2 ** 31)),
      ])();
      const message: Message = {
        id: `msg-${n}`,
        from: identityText(g),
        to: "deacon",
        subject,
        body,
        timestamp,
        read: false,
        priority: "normal",
        type: "lifecycle",
      };
      const input = JSON.stringify({ from: message.from, subject, body, timestamp });
      let parsed;
      try {
        parsed = parseLifecycleMessage(message, now, maxAge);
      } catch (error) {
        failures.push({ n, input, problem: `threw ${String(error)}` });
        continue;
      }
      kinds.set(parsed.kind, (kinds.get(parsed.kind) ?? 0) + 1);
      switch (parsed.kind) {
        case "request": {
          if (!["cycle", "restart", "shutdown"].includes(parsed.action))
            failures.push({ n, input, problem: `action ${show(parsed.action)}` });
          try {
            const id = parseIdentity(parsed.identity);
            if (formatIdentity(id) !== parsed.identity)
              failures.push({ n, input, problem: `identity ${show(parsed.identity)} is not canonical` });
            if (formatIdentity(parseIdentity(message.from)) !== parsed.identity)
              failures.push({ n, input, problem: "identity is not the sender's" });
            if (!SESSION.test(sessionName(id))) failures.push({ n, input, problem: "unsafe session name" });
          } catch (error) {
            // The root cause of the round-trip todo below (hyphen forms with a reserved rig name).
            roundTrip.push({
              n,
              input,
              problem: `lifecycle request with identity ${show(parsed.identity)} that fails: ${String(error)}`,
            });
          }
          if (typeof parsed.reason !== "string")
            failures.push({ n, input, problem: "reason is not a string" });
          break;
        }
        case "rejected":
          if (LINE_BREAK.test(parsed.why) || CONTROL.test(parsed.why))
            failures.push({
              n,
              input,
              problem: `rejection reason is not one clean line: ${show(parsed.why)}`,
            });
          break;
        case "stale":
          if (!Number.isFinite(parsed.ageMs) || parsed.ageMs <= maxAge)
            failures.push({ n, input, problem: `stale with age ${parsed.ageMs}` });
          break;
        case "not-lifecycle":
          if (message.subject.toLowerCase().startsWith("lifecycle:"))
            failures.push({ n, input, problem: "a lifecycle: subject was ignored" });
          break;
      }
    }
    t.diagnostic(`${CASES} messages: ${[...kinds.entries()].map(([k, v]) => `${k} ${v}`).join(", ")}`);
    assert.equal(failures.length, 0, report(failures, "lifecycle parse failures"));
    assert.ok((kinds.get("request") ?? 0) > 100, "enough requests were accepted to mean something");
  });

  it("every accepted spelling's canonical form is accepted too (and lifecycle requests carry only such identities)", () => {
    assert.equal(roundTrip.length, 0, report(roundTrip, "spellings do not round-trip"));
  });

  it("I1: whatever names share a tmux session, the daemon never wants two agents in one session", () => {
    // The reference's names can coincide (tmux turns "." into "_"; "-" joins rig and name), so the guarantee
    // lives where sessions are decided: desiredAgents keeps the first owner and holds the others.
    const owners = [...collisions.values()].filter((set) => set.size > 1);
    const pairs: [string, string][] = [
      ["r/polecats/a.b", "r/polecats/a_b"],
      ["a-b/polecats/c", "a/polecats/b-c"],
      ["a/polecats/b-witness", "a-b/witness"],
      ...owners.slice(0, 50).map((set) => [...set].slice(0, 2) as [string, string]),
    ];
    for (const [left, right] of pairs) {
      const ids = [parseIdentity(left), parseIdentity(right)];
      const rigs = Object.fromEntries(ids.map((id) => [id.rig ?? "r", {}]));
      const config: TownConfig = {
        settings: {},
        daemon: daemonSettings(undefined),
        patrols: undefined,
        rigs: { version: 1, rigs },
        wisp: new Map(),
        rigSettings: new Map(),
      };
      const polecats = ids.flatMap((id) =>
        id.role === "polecat"
          ? [{ rig: id.rig ?? "", name: id.name ?? "", hookedWork: "w-1", state: null }]
          : [],
      );
      const wanted = desiredAgents(config, polecats).filter((agent) => agent.wanted);
      const sessions = wanted.map((agent) => agent.session);
      assert.equal(new Set(sessions).size, sessions.length, `${left} and ${right}: ${sessions.join(", ")}`);
    }
  });
});
