import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PaneInfo } from "../tmux/types.js";
import { classifyPane, isAgentProcessName, isShell, type ProcessTree } from "./liveness.js";

const claude = { processNames: ["node", "claude"], argv: ["claude", "--dangerously-skip-permissions"] };
const custom = { processNames: ["my-agent"], argv: ["/opt/bin/my-agent"] };

function pane(command: string, extra: Partial<PaneInfo> = {}): PaneInfo {
  return {
    session: "gt-gastown-refinery",
    paneId: "%1",
    panePid: 100,
    command,
    dead: false,
    deadStatus: null,
    generation: "g1",
    identity: "gastown/refinery",
    ...extra,
  };
}

/** A process table: pid → [name, parent pid]. */
function tree(table: Record<number, [string, number]>): ProcessTree {
  return {
    childNames(pid) {
      const names: string[] = [];
      const walk = (parent: number): void => {
        for (const [child, [name, ppid]] of Object.entries(table)) {
          if (ppid === parent) {
            names.push(name);
            walk(Number(child));
          }
        }
      };
      walk(pid);
      return names;
    },
  };
}

const noChildren = tree({});

describe("classifyPane", () => {
  for (const title of ["2.1.7", "node", "claude", "codex"]) {
    it(`calls a pane titled ${JSON.stringify(title)} alive (B49, B115, I2)`, () => {
      assert.equal(classifyPane(pane(title), noChildren, claude).verdict, "alive");
    });
  }

  it("calls a custom runtime's pane alive, whatever its name (I2, #1025)", () => {
    assert.equal(classifyPane(pane("my-agent"), noChildren, custom).verdict, "alive");
    assert.equal(classifyPane(pane("python3"), noChildren, claude).verdict, "alive");
  });

  it("calls a shell with a node child alive (B115)", () => {
    const verdict = classifyPane(pane("bash"), tree({ 101: ["node", 100] }), claude);
    assert.deepEqual(verdict, { verdict: "alive", reason: 'pane runs "bash" with agent process "node"' });
  });

  it("calls a shell with a 2.1.7 grandchild alive (#566)", () => {
    const processes = tree({ 101: ["env", 100], 102: ["2.1.7", 101] });
    assert.equal(classifyPane(pane("zsh"), processes, claude).verdict, "alive");
  });

  it("calls a login shell with the custom agent below it alive", () => {
    assert.equal(classifyPane(pane("-bash"), tree({ 101: ["my-agent", 100] }), custom).verdict, "alive");
  });

  it("calls a shell with only a sleep child a zombie (B50)", () => {
    const verdict = classifyPane(pane("bash"), tree({ 101: ["sleep", 100] }), claude);
    assert.deepEqual(verdict, {
      verdict: "zombie",
      reason: 'pane runs "bash" with no agent process (zombie); other processes: "sleep"',
    });
  });

  it("calls a bare shell a zombie", () => {
    const verdict = classifyPane(pane("sh"), noChildren, claude);
    assert.deepEqual(verdict, { verdict: "zombie", reason: 'pane runs "sh" with no agent process (zombie)' });
  });

  it("calls a dead pane dead with its exit status", () => {
    const verdict = classifyPane(pane("2.1.7", { dead: true, deadStatus: 3 }), noChildren, claude);
    assert.deepEqual(verdict, { verdict: "dead", reason: "pane died (exit status 3)" });
  });

  it("says when a dead pane was killed by a signal", () => {
    const verdict = classifyPane(pane("bash", { dead: true, deadStatus: null }), noChildren, claude);
    assert.deepEqual(verdict, { verdict: "dead", reason: "pane died (killed by a signal)" });
  });

  it("keeps a pane whose command tmux could not read", () => {
    assert.equal(classifyPane(pane(""), noChildren, claude).verdict, "alive");
  });

  it("keeps a runtime whose own name is a shell's", () => {
    const ksh = { processNames: ["ksh"], argv: ["ksh", "-c", "agent"] };
    assert.equal(classifyPane(pane("ksh"), noChildren, ksh).verdict, "alive");
  });
});

describe("isShell", () => {
  it("knows the reference's shells, login forms and paths", () => {
    for (const name of ["bash", "zsh", "sh", "dash", "fish", "tcsh", "ksh", "-bash", "-zsh", "/bin/sh"]) {
      assert.equal(isShell(name), true, name);
    }
    for (const name of ["node", "claude", "2.1.7", "bashful", ""]) assert.equal(isShell(name), false, name);
  });
});

describe("isAgentProcessName", () => {
  it("accepts the runtime's names, argv[0]'s basename, node, claude and version titles", () => {
    for (const name of ["my-agent", "node", "claude", "2.1.7", "10.0.12", "/usr/bin/node"]) {
      assert.equal(isAgentProcessName(name, custom), true, name);
    }
    const byArgv = { processNames: [], argv: ["/usr/local/bin/aider", "--yes"] };
    assert.equal(isAgentProcessName("aider", byArgv), true);
  });

  it("rejects other names", () => {
    for (const name of ["sleep", "bash", "2.1", "v2.1.7", "", "my-agent2"]) {
      assert.equal(isAgentProcessName(name, custom), false, name);
    }
  });

  it("matches a long name cut to Linux's 15 characters", () => {
    const long = { processNames: ["my-very-long-agent-name"], argv: ["x"] };
    assert.equal(isAgentProcessName("my-very-long-ag", long), true);
    assert.equal(isAgentProcessName("my-very-long-a", long), false);
  });
});
