import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../errors.js";
import {
  beadId,
  formatIdentity,
  parseIdentity,
  sessionName,
  townLevel,
  validateIdentity,
  type AgentId,
} from "./identity.js";

/** Every accepted spelling, grouped by the canonical identity it must parse to. */
const FORMS: readonly [canonical: string, id: AgentId, spellings: readonly string[]][] = [
  ["mayor", { role: "mayor" }, ["mayor", "mayor/"]],
  ["deacon", { role: "deacon" }, ["deacon", "deacon/"]],
  [
    "boot",
    { role: "boot" },
    ["boot", "boot/", "deacon-boot", "deacon/boot", "deacon/dogs/boot", "deacon/boot/"],
  ],
  [
    "gastown/witness",
    { role: "witness", rig: "gastown" },
    ["gastown-witness", "gastown/witness", "gastown/witness/"],
  ],
  [
    "my-rig-name/witness",
    { role: "witness", rig: "my-rig-name" },
    ["my-rig-name-witness", "my-rig-name/witness"],
  ],
  [
    "gastown/refinery",
    { role: "refinery", rig: "gastown" },
    ["gastown-refinery", "gastown/refinery", "gastown/refinery/"],
  ],
  [
    "gastown/crew/joe",
    { role: "crew", rig: "gastown", name: "joe" },
    ["gastown-crew-joe", "gastown/crew/joe", "gastown/crew/joe/"],
  ],
  [
    "gastown/polecats/toast",
    { role: "polecat", rig: "gastown", name: "toast" },
    ["gastown-polecat-toast", "gastown/polecats/toast", "gastown/toast", "gastown/toast/"],
  ],
  [
    "my_rig/polecats/nux.2",
    { role: "polecat", rig: "my_rig", name: "nux.2" },
    ["my_rig-polecat-nux.2", "my_rig/polecats/nux.2", "my_rig/nux.2"],
  ],
];

describe("parseIdentity", () => {
  for (const [canonical, id, spellings] of FORMS) {
    for (const spelling of spellings) {
      it(`parses ${JSON.stringify(spelling)} as ${canonical}`, () => {
        assert.deepEqual(parseIdentity(spelling), id);
        assert.equal(formatIdentity(parseIdentity(spelling)), canonical);
      });
    }
  }

  it("checks hyphen suffixes before -crew- and -polecat-, as the reference does", () => {
    assert.deepEqual(parseIdentity("x-crew-y-witness"), { role: "witness", rig: "x-crew-y" });
    assert.deepEqual(parseIdentity("x-polecat-y-refinery"), { role: "refinery", rig: "x-polecat-y" });
    assert.deepEqual(parseIdentity("a-polecat-b-crew-c"), { role: "crew", rig: "a-polecat-b", name: "c" });
  });

  it("splits -crew- and -polecat- at the first occurrence", () => {
    assert.deepEqual(parseIdentity("rig-crew-joe-crew-x"), { role: "crew", rig: "rig", name: "joe-crew-x" });
    assert.deepEqual(parseIdentity("rig-polecat-a-polecat-b"), {
      role: "polecat",
      rig: "rig",
      name: "a-polecat-b",
    });
  });

  const rejected = [
    "",
    "/",
    "unknown",
    "polecat",
    "refinery",
    "witness",
    "gastown",
    "Mayor",
    "hq-mayor",
    "-witness",
    "rig-crew-",
    "rig-polecat-",
    "a;b-witness",
    "$(x)/witness",
    "`x`-witness",
    "../etc/witness",
    "gastown/polecats/../x",
    "gastown/polecats/a..b",
    "gastown/polecats/.hidden",
    '"q"-witness',
    "gastown-witness\n",
    "gastown\n-witness",
    "gastown/witness\nrm -rf /",
    " gastown-witness",
    "gast own-witness",
    "gastown//witness",
    "/gastown/witness",
    "gastown/witness//",
    "gastown/crew",
    "gastown/polecats",
    "gastown/crew/",
    "gastown/polecat/toast",
    "gastown/crew/joe/extra",
    "gastown/witness/rig",
    "mayor/x",
    "deacon/x",
    "deacon/dogs/rex",
    "gastown/polecats/witness",
    "gastown/polecats/refinery",
    "gastown/polecats/crew-joe",
  ];
  for (const text of rejected) {
    it(`rejects ${JSON.stringify(text)} with E_BAD_IDENTITY (B84)`, () => {
      assert.throws(
        () => parseIdentity(text),
        (error: unknown) => error instanceof AppError && error.code === "E_BAD_IDENTITY",
      );
    });
  }

  it("quotes the input in a one-line message, control characters escaped", () => {
    const error = captureError(() => parseIdentity("rig\n-witness\u001b[2J"));
    assert.equal(error.message.includes("\n"), false);
    assert.equal(error.message.includes("\u001b"), false);
    assert.match(error.message, /^Invalid agent identity "rig\\n-witness\\u001b\[2J": /);
  });

  it("escapes non-ASCII such as bidi overrides and cuts long input", () => {
    const bidi = captureError(() => parseIdentity("a\u202eb-witness"));
    assert.match(bidi.message, /"a\\u202eb-witness"/);
    const long = captureError(() => parseIdentity(`${"x".repeat(500)};-witness`));
    assert.ok(long.message.length < 300, long.message);
  });

  it("names the bad component", () => {
    assert.match(captureError(() => parseIdentity("a;b-witness")).message, /rig name "a;b" must be/);
    assert.match(
      captureError(() => parseIdentity("rig/polecats/a..b")).message,
      /agent name "a\.\.b" must be/,
    );
  });
});

describe("formatIdentity", () => {
  it("round-trips through parseIdentity for every role", () => {
    for (const [canonical, id] of FORMS) {
      assert.equal(formatIdentity(id), canonical);
      assert.deepEqual(parseIdentity(formatIdentity(id)), id);
    }
  });

  it("rejects a hand-built identity with a path in its name", () => {
    assert.throws(() => formatIdentity({ role: "polecat", rig: "gastown", name: "../x" }), /agent name/);
    assert.throws(() => formatIdentity({ role: "witness" }), /needs a rig/);
    assert.throws(() => formatIdentity({ role: "mayor", rig: "gastown" }), /belongs to no rig/);
    assert.throws(() => formatIdentity({ role: "witness", rig: "gastown", name: "x" }), /has no agent name/);
    assert.throws(() => validateIdentity({ role: "crew", rig: "gastown" }), /needs a name/);
  });
});

describe("sessionName", () => {
  it("maps mayor to hq-mayor and deacon to hq-deacon (B79)", () => {
    assert.equal(sessionName(parseIdentity("mayor")), "hq-mayor");
    assert.equal(sessionName(parseIdentity("deacon")), "hq-deacon");
    assert.equal(sessionName(parseIdentity("mayor/")), "hq-mayor");
  });

  it("maps boot to gt-boot, the reference's name (§5.2, B38)", () => {
    assert.equal(sessionName(parseIdentity("boot")), "gt-boot");
  });

  it("maps <rig>-witness to gt-<rig>-witness, hyphens in the rig included (B80)", () => {
    assert.equal(sessionName(parseIdentity("gastown-witness")), "gt-gastown-witness");
    assert.equal(sessionName(parseIdentity("my-rig-name-witness")), "gt-my-rig-name-witness");
    assert.equal(sessionName(parseIdentity("gastown/witness")), "gt-gastown-witness");
  });

  it("maps <rig>-refinery to gt-<rig>-refinery (B81)", () => {
    assert.equal(sessionName(parseIdentity("gastown-refinery")), "gt-gastown-refinery");
    assert.equal(sessionName(parseIdentity("gastown/refinery")), "gt-gastown-refinery");
  });

  it("maps <rig>-crew-<name> to gt-<rig>-crew-<name> (B82)", () => {
    assert.equal(sessionName(parseIdentity("gastown-crew-joe")), "gt-gastown-crew-joe");
    assert.equal(sessionName(parseIdentity("gastown/crew/joe")), "gt-gastown-crew-joe");
  });

  it("maps both polecat forms to gt-<rig>-<name> (B83)", () => {
    assert.equal(sessionName(parseIdentity("gastown-polecat-toast")), "gt-gastown-toast");
    assert.equal(sessionName(parseIdentity("gastown/polecats/toast")), "gt-gastown-toast");
    assert.equal(sessionName(parseIdentity("gastown/toast")), "gt-gastown-toast");
  });

  it("turns dots into underscores, as tmux does with session names", () => {
    assert.equal(sessionName(parseIdentity("gastown/polecats/nux.2")), "gt-gastown-nux_2");
  });
});

describe("beadId", () => {
  it("maps identities to agent bead ids with the rig prefix (B87)", () => {
    assert.equal(beadId(parseIdentity("deacon")), "hq-deacon");
    assert.equal(beadId(parseIdentity("mayor")), "hq-mayor");
    assert.equal(beadId(parseIdentity("boot")), "hq-boot");
    assert.equal(beadId(parseIdentity("gastown/witness")), "gt-gastown-witness");
    assert.equal(beadId(parseIdentity("gastown/refinery"), "ga"), "ga-gastown-refinery");
    assert.equal(beadId(parseIdentity("gastown/polecats/toast"), "ga"), "ga-gastown-polecat-toast");
    assert.equal(beadId(parseIdentity("gastown/crew/joe")), "gt-gastown-crew-joe");
  });

  it("trims a trailing '-' from the prefix and rejects a bad one", () => {
    assert.equal(beadId(parseIdentity("gastown/witness"), "ga-"), "ga-gastown-witness");
    assert.throws(() => beadId(parseIdentity("gastown/witness"), "a b"), /Invalid beads prefix "a b"/);
  });
});

describe("townLevel", () => {
  it("is true for mayor, deacon and boot only", () => {
    const levels = FORMS.map(([canonical, id]) => [canonical, townLevel(id)]);
    assert.deepEqual(levels, [
      ["mayor", true],
      ["deacon", true],
      ["boot", true],
      ["gastown/witness", false],
      ["my-rig-name/witness", false],
      ["gastown/refinery", false],
      ["gastown/crew/joe", false],
      ["gastown/polecats/toast", false],
      ["my_rig/polecats/nux.2", false],
    ]);
  });
});

function captureError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  assert.fail("expected an error");
}
