import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { makeTown, startDaemon, testEnv, until, type TestTown } from "../../helpers/cli.js";

/**
 * Issue 14 item 16: the pane-died hook ran `echo '#{session_name}' >> …` under sh, and tmux expands the
 * format before the shell parses the line: a session named with a quote and `;` ran a command of its choosing.
 */
describe("the pane-died hook and a hostile session name", { timeout: 60_000 }, () => {
  let town: TestTown | undefined;
  const marker = `/tmp/PWNED-${process.pid}`;
  after(async () => {
    rmSync(marker, { force: true });
    await town?.cleanup();
  });

  it("a session named x';touch /tmp/PWNED-…;' dies: the hook records it, and no command runs", async () => {
    town = await makeTown();
    await startDaemon(town);
    const tmux = (...args: string[]): string =>
      execFileSync("tmux", ["-S", town?.socket ?? "", "-f", "/dev/null", ...args], {
        encoding: "utf8",
        env: testEnv(),
      });
    await until("the daemon's tmux server", () => existsSync(town?.socket ?? ""), 10_000);
    const name = `x';touch ${marker};'`;
    tmux("new-session", "-d", "-s", name, "--", "sleep", "600");
    const events = town.file("daemon", "pane-events");
    const before = readFileSync(events, "utf8");
    const [pid = "", serverPid = ""] = tmux("display-message", "-p", "-t", `=${name}:`, "#{pane_pid} #{pid}")
      .trim()
      .split(" ");
    process.kill(Number(pid), "SIGKILL");
    // tmux 3.3a sometimes misses a SIGCHLD (the daemon kicks it for the same reason): kick it until the hook ran.
    await until(
      "the pane-died hook to append to daemon/pane-events",
      () => {
        process.kill(Number(serverPid), "SIGCHLD");
        // The old hook's line ended in `'' >> file`: an injected command ran, and nothing was appended.
        return readFileSync(events, "utf8") !== before || existsSync(marker);
      },
      10_000,
      100,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(existsSync(marker), false, `the session name ran a command: ${marker} exists`);
    assert.match(readFileSync(events, "utf8").slice(before.length), /^%\d+\n/);
  });
});
