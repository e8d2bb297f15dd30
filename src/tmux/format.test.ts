import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeFormat, PANE_FORMAT, parsePaneRows, parsePanes, shellQuote, tmuxQuote } from "./format.js";

describe("PANE_FORMAT", () => {
  it("puts the pane's command last so a tab in it cannot shift other fields", () => {
    const fields = PANE_FORMAT.split("\t");
    assert.equal(fields.length, 10);
    assert.equal(fields.at(-1), "#{pane_current_command}");
  });
});

describe("parsePanes", () => {
  it("parses live and dead panes with and without townd's options", () => {
    const output = [
      "a1\t%0\t4135\t0\t\tg-1\trig/polecat/a1\t\t99\tnode",
      "b2\t%1\t4301\t1\t7\t\t\t1795516412\t99\tsh",
      "c3\t%2\t4306\t1\t\tg-2\tmayor\t1795516413\t99\tsleep",
      "",
    ].join("\n");
    assert.deepEqual(parsePanes(output), [
      {
        session: "a1",
        paneId: "%0",
        panePid: 4135,
        command: "node",
        dead: false,
        deadStatus: null,
        generation: "g-1",
        identity: "rig/polecat/a1",
      },
      {
        session: "b2",
        paneId: "%1",
        panePid: 4301,
        command: "sh",
        dead: true,
        deadStatus: 7,
        generation: null,
        identity: null,
      },
      {
        session: "c3",
        paneId: "%2",
        panePid: 4306,
        command: "sleep",
        dead: true,
        deadStatus: null,
        generation: "g-2",
        identity: "mayor",
      },
    ]);
  });

  it("keeps a tab inside the command in the command", () => {
    const [pane] = parsePanes("s\t%3\t10\t0\t\t\t\t\t99\tmy\tprog\n");
    assert.equal(pane?.command, "my\tprog");
    assert.equal(pane.session, "s");
  });

  it("accepts an empty command and returns every pane of a session", () => {
    const panes = parsePanes("s\t%3\t10\t0\t\t\t\t\t99\t\ns\t%4\t11\t0\t\t\t\t\t99\tbash\n");
    assert.deepEqual(
      panes.map((pane) => [pane.paneId, pane.command]),
      [
        ["%3", ""],
        ["%4", "bash"],
      ],
    );
  });

  it("skips malformed lines instead of misreading them", () => {
    const output = [
      "garbage",
      "s\tnot-a-pane\t10\t0\t\t\t\tx",
      "s\t%1\tpid\t0\t\t\t\tx",
      "\t%1\t10\t0\t\t\t\tx",
    ];
    assert.deepEqual(parsePanes(output.join("\n")), []);
  });

  it("tells a dead pane whose exit status tmux has not collected from one killed by a signal", () => {
    const rows = parsePaneRows(
      ["lost\t%0\t10\t1\t\t\t\t\t99\tsh", "signalled\t%1\t11\t1\t\t\t\t1795516412\t99\tsleep"].join("\n"),
    );
    assert.deepEqual(
      rows.map((row) => [row.pane.session, row.pane.deadStatus, row.statusCollected, row.serverPid]),
      [
        ["lost", null, false, 99],
        ["signalled", null, true, 99],
      ],
    );
    const [live] = parsePaneRows("a\t%2\t12\t0\t\t\t\t\t99\tnode");
    assert.equal(live?.statusCollected, true);
  });

  it("returns nothing for empty output", () => {
    assert.deepEqual(parsePanes(""), []);
  });
});

describe("quoting helpers", () => {
  it("escapeFormat doubles every #", () => {
    assert.equal(escapeFormat("/tmp/#{session_name}#x"), "/tmp/##{session_name}##x");
  });

  it("tmuxQuote closes and reopens around single quotes", () => {
    assert.equal(tmuxQuote("a b"), "'a b'");
    assert.equal(tmuxQuote("it's"), `'it'"'"'s'`);
  });

  it("shellQuote uses the POSIX '\\'' escape", () => {
    assert.equal(shellQuote("it's $(x)"), `'it'\\''s $(x)'`);
  });
});
