import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  blockOutput,
  CONTROL_LINE_MAX,
  controlLine,
  ControlParser,
  controlWord,
  type ControlEvent,
} from "./control-protocol.js";

function parse(lines: readonly string[]): ControlEvent[] {
  const parser = new ControlParser();
  return lines.flatMap((line) => {
    const event = parser.push(line);
    return event === undefined ? [] : [event];
  });
}

describe("controlLine", () => {
  it("single-quotes every word and separates commands with bare semicolons", () => {
    assert.equal(
      controlLine([
        ["display-message", "-p", "#{session_name}"],
        ["set-option", "-t", "=a:", "@x", "it's; $HOME ~ {x} \\"],
      ]),
      `'display-message' '-p' '#{session_name}' ; 'set-option' '-t' '=a:' '@x' 'it'"'"'s; $HOME ~ {x} \\'`,
    );
  });

  it("keeps an argument that is itself a semicolon as a word, not a separator", () => {
    assert.equal(controlLine([["send-keys", "-l", "--", ";"]]), `'send-keys' '-l' '--' ';'`);
  });

  it("writes control characters as octal escapes in double quotes, between single-quoted runs", () => {
    assert.equal(controlWord("a\tb"), `'a'"\\011"'b'`);
    assert.equal(controlWord("\n~$x\r\n"), `"\\012"'~$x'"\\015\\012"`);
    assert.equal(controlWord("\u007f"), `"\\177"`);
    assert.equal(controlWord(""), "''");
  });

  it("refuses what it cannot send: empty or oversized commands", () => {
    assert.equal(controlLine([]), undefined);
    assert.equal(controlLine([[]]), undefined);
    assert.equal(controlLine([["set-option", "@x", "x".repeat(CONTROL_LINE_MAX)]]), undefined);
  });
});

describe("ControlParser", () => {
  it("collects a block's output up to its own end line", () => {
    assert.deepEqual(parse(["%begin 1700000000 12 1", "a", "", "b", "%end 1700000000 12 1"]), [
      { kind: "block", ours: true, ok: true, lines: ["a", "", "b"] },
    ]);
  });

  it("reads an end line with other numbers inside a block as output (a screen may show one)", () => {
    const events = parse([
      "%begin 1700000000 12 1",
      "%end 1700000000 11 1",
      "%error 1 2 1",
      "%begin 1700000000 13 1",
      "%exit",
      "%error 1700000000 12 1",
    ]);
    assert.deepEqual(events, [
      {
        kind: "block",
        ours: true,
        ok: false,
        lines: ["%end 1700000000 11 1", "%error 1 2 1", "%begin 1700000000 13 1", "%exit"],
      },
    ]);
  });

  it("tells its own commands' blocks from others', and notifications and exit from both", () => {
    assert.deepEqual(
      parse([
        "%begin 1 264 0",
        "%end 1 264 0",
        "%session-changed $0 a",
        "%begin 1 270 1",
        "%end 1 270 1",
        "%exit server exited",
      ]),
      [
        { kind: "block", ours: false, ok: true, lines: [] },
        { kind: "notification", line: "%session-changed $0 a" },
        { kind: "block", ours: true, ok: true, lines: [] },
        { kind: "exit", reason: "server exited" },
      ],
    );
  });
});

describe("blockOutput", () => {
  it("prints each line with its newline, as a tmux process does", () => {
    assert.equal(blockOutput(["a", "", "b"]), "a\n\nb\n");
    assert.equal(blockOutput([]), "");
  });
});
