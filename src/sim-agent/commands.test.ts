import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSimCommand, splitWords } from "./commands.js";

describe("splitWords", () => {
  it("splits on blanks and groups quoted words without interpreting anything", () => {
    assert.deepEqual(splitWords("  a  b\tc "), ["a", "b", "c"]);
    assert.deepEqual(splitWords(`node -e "console.log('hi; $(x)')"`), [
      "node",
      "-e",
      "console.log('hi; $(x)')",
    ]);
    assert.deepEqual(splitWords(`echo '$(touch X)' ; *`), ["echo", "$(touch X)", ";", "*"]);
    assert.deepEqual(splitWords(`a"b c"'d'`), ["ab cd"]);
    assert.deepEqual(splitWords(`"" ''`), ["", ""]);
    assert.deepEqual(splitWords(String.raw`"a \" \\ \$ \n" b\ c`), [String.raw`a " \ $ \n`, "b c"]);
  });

  it("throws on an unterminated quote", () => {
    assert.throws(() => splitWords(`echo "abc`), /unterminated double quote/);
    assert.throws(() => splitWords(`echo 'abc`), /unterminated single quote/);
  });
});

describe("parseSimCommand", () => {
  it("ignores anything that is not /sim", () => {
    assert.equal(parseSimCommand("hello"), undefined);
    assert.equal(parseSimCommand("/simulate"), undefined);
    assert.equal(parseSimCommand("please /sim crash"), undefined);
  });

  it("parses crash with and without a code", () => {
    assert.deepEqual(parseSimCommand("/sim crash"), { kind: "crash", code: undefined });
    assert.deepEqual(parseSimCommand("  /sim   crash  3 "), { kind: "crash", code: 3 });
    assert.equal(parseSimCommand("/sim crash 300")?.kind, "invalid");
    assert.equal(parseSimCommand("/sim crash x")?.kind, "invalid");
  });

  it("parses exit, hang, stop-heartbeat and title", () => {
    assert.deepEqual(parseSimCommand("/sim exit"), { kind: "exit" });
    assert.deepEqual(parseSimCommand("/sim hang"), { kind: "hang" });
    assert.deepEqual(parseSimCommand("/sim stop-heartbeat"), { kind: "stop-heartbeat" });
    assert.deepEqual(parseSimCommand("/sim title my agent"), { kind: "title", title: "my agent" });
    assert.equal(parseSimCommand("/sim exit now")?.kind, "invalid");
    assert.equal(parseSimCommand("/sim title")?.kind, "invalid");
  });

  it("parses run into an argv, without a shell", () => {
    assert.deepEqual(parseSimCommand(`/sim run townd request cycle --reason "context full"`), {
      kind: "run",
      argv: ["townd", "request", "cycle", "--reason", "context full"],
    });
    assert.equal(parseSimCommand("/sim run")?.kind, "invalid");
    assert.equal(parseSimCommand(`/sim run echo "oops`)?.kind, "invalid");
  });

  it("parses wall with a duration and --menu, and permission with a tool and the rest as its command", () => {
    assert.deepEqual(parseSimCommand("/sim wall 1m"), { kind: "wall", durationMs: 60_000, menu: false });
    assert.deepEqual(parseSimCommand("/sim wall --menu 5h"), {
      kind: "wall",
      durationMs: 18_000_000,
      menu: true,
    });
    for (const bad of ["/sim wall", "/sim wall soon", "/sim wall 1m 2m", "/sim wall 169h"])
      assert.equal(parseSimCommand(bad)?.kind, "invalid", bad);
    assert.deepEqual(parseSimCommand(`/sim permission Bash rm -rf "build dir" && ls`), {
      kind: "permission",
      tool: "Bash",
      command: `rm -rf "build dir" && ls`,
    });
    for (const bad of [
      "/sim permission",
      "/sim permission Bash",
      "/sim permission 9x ls",
      "/sim permission  ",
    ])
      assert.equal(parseSimCommand(bad)?.kind, "invalid", bad);
  });

  it("explains unknown commands", () => {
    const unknown = parseSimCommand("/sim dance");
    assert.ok(unknown?.kind === "invalid");
    assert.match(unknown.message, /unknown command "dance"/);
    assert.equal(parseSimCommand("/sim")?.kind, "invalid");
  });
});
