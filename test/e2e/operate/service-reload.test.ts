import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CLI_MAIN,
  createSupervisedTown,
  isAlive,
  TOWN_MARK,
  tempDir,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";
import { assertOneLineError, cliEnv, storeEvents, until } from "./_helpers.js";

/**
 * `townd service install` (a systemd user unit running `townd run`), `townd reload`, and the operator
 * requests `townd restart AGENT` / `townd reset AGENT`, against the built CLI, with the daemon running and
 * stopped. The unit's ExecStart is not only read but run, the way systemd would run it.
 */

/** systemd's unquoting of an ExecStart= line: words, "double quotes" with backslash escapes. */
function execStartArgv(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    words.push(match[1] === undefined ? (match[2] ?? "") : match[1].replace(/\\(.)/g, "$1"));
  }
  return words;
}

function unitLine(unit: string, key: string): string {
  const line = unit.split("\n").find((l) => l.startsWith(`${key}=`));
  assert.ok(line !== undefined, `a ${key}= line in:\n${unit}`);
  return line.slice(key.length + 1);
}

describe("townd service install", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  const xdg = tempDir();
  let printed = "";

  before(async () => {
    town = await createSupervisedTown();
  });
  after(async () => {
    await town.cleanup();
    xdg.cleanup();
  });

  it("--print prints a unit running `townd --town <root> run` with KillMode=process, Restart=on-failure", async () => {
    const run = await town.townd(["service", "install", "--print"], {
      env: cliEnv(town, { XDG_CONFIG_HOME: xdg.dir }),
    });
    assert.equal(run.code, 0, run.stderr);
    printed = run.stdout;
    const execStart = unitLine(printed, "ExecStart");
    assert.equal(
      execStart,
      `"${process.execPath}" --max-semi-space-size=1 "${CLI_MAIN}" --town "${town.root}" run`,
    );
    assert.deepEqual(execStartArgv(execStart), [
      process.execPath,
      "--max-semi-space-size=1",
      CLI_MAIN,
      "--town",
      town.root,
      "run",
    ]);
    assert.equal(
      unitLine(printed, "KillMode"),
      "process",
      "stopping the unit must not kill the agents' tmux",
    );
    assert.equal(unitLine(printed, "Restart"), "on-failure");
    assert.equal(unitLine(printed, "Type"), "simple");
    assert.equal(unitLine(printed, "WantedBy"), "default.target");
    assert.match(unitLine(printed, "Environment"), /^"PATH=[^"]+"$/);
    assert.match(printed, /^\[Unit\]\n/);
    assert.match(printed, /\n\[Service\]\n/);
    assert.match(printed, /\n\[Install\]\nWantedBy=default.target\n$/);
    assert.deepEqual(readdirSync(xdg.dir), [], "--print writes nothing");
  });

  it("the unit's ExecStart, run as systemd would, is the daemon in the foreground; SIGTERM stops it cleanly", async () => {
    const argv = execStartArgv(unitLine(printed, "ExecStart"));
    const path = /^"PATH=(.*)"$/.exec(unitLine(printed, "Environment"))?.[1] ?? "";
    const [file = "", ...args] = argv;
    const child = spawn(file, args, {
      cwd: "/",
      env: { PATH: path, HOME: process.env["HOME"] ?? "/", [TOWN_MARK]: town.root },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        resolve(code);
      }),
    );
    try {
      await town.waitFor(
        (s) => s.daemon.running && s.daemon.pid === child.pid && s.daemon.heartbeat_count > 0,
        15_000,
        "the unit's daemon running a pass",
      );
    } finally {
      if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, "SIGTERM");
    }
    assert.equal(await exited, 0, "exit 0 on SIGTERM (Restart=on-failure does not restart it)");
    assert.equal(town.readJson("daemon/state.json")["running"], false);
  });

  it("install writes the unit under $XDG_CONFIG_HOME, says how to enable it, refuses to overwrite without --force", async () => {
    const env = cliEnv(town, { XDG_CONFIG_HOME: xdg.dir });
    const name = `townd-${basename(town.root)}.service`;
    const file = join(xdg.dir, "systemd", "user", name);
    const run = await town.townd(["service", "install"], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(file, "utf8"), printed, "the file is the printed unit");
    assert.equal((statSync(file).mode & 0o777).toString(8), "644");
    assert.deepEqual(run.stdout.split("\n"), [
      `✓ Wrote ${file}`,
      "  Enable it (and stop a daemon started by hand first: townd stop):",
      `    systemctl --user daemon-reload && systemctl --user enable --now ${name}`,
      "  Keep it running after you log out:  loginctl enable-linger",
      "",
    ]);

    writeFileSync(file, "# edited by hand\n");
    assertOneLineError(
      await town.townd(["service", "install"], { env }),
      new RegExp(`${file.replaceAll(".", "\\.")} already exists \\(use --force to replace it\\)$`),
      "a second install",
    );
    assert.equal(readFileSync(file, "utf8"), "# edited by hand\n", "the existing unit is kept");

    const forced = await town.townd(["service", "install", "--force"], { env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(file, "utf8"), printed, "--force replaces it");
  });

  it("without XDG_CONFIG_HOME the unit goes to ~/.config/systemd/user", async () => {
    const home = join(xdg.dir, "home");
    mkdirSync(home);
    const run = await town.townd(["service", "install"], {
      env: cliEnv(town, { HOME: home, XDG_CONFIG_HOME: undefined }),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(home, ".config", "systemd", "user", `townd-${basename(town.root)}.service`)));
  });

  it("escapes % and $ of a town path for systemd (%% and $$), which expands both in ExecStart=", async () => {
    const root = join(xdg.dir, "50% ${HOME} town");
    const init = await town.townd(["init", root], { env: cliEnv(town) });
    assert.equal(init.code, 0, init.stderr);
    const run = await town.townd(["--town", root, "service", "install", "--print"], { env: cliEnv(town) });
    assert.equal(run.code, 0, run.stderr);
    const execStart = unitLine(run.stdout, "ExecStart");
    assert.ok(
      execStart.includes(`--town "${join(xdg.dir, "50%% $${HOME} town")}" run`),
      `systemd would expand the %-specifier and \${HOME} in ExecStart=${execStart}`,
    );
  });
});

describe("townd reload, townd restart AGENT, townd reset AGENT", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({
      patrols: { mayor: { enabled: true } },
      settings: (s, h) => {
        // The Mayor crashes at once: one immediate restart, then a 1 h backoff that only a reset cuts short.
        s["agents"] = {
          ...(s["agents"] as Json),
          crashy: h.simRuntime(["--crash-after", "0s", "--exit-code", "7"]),
        };
        s["role_agents"] = { mayor: "crashy" };
        s["operational"] = { daemon: { death_poll_interval: "250ms", restart: { initial_backoff: "1h" } } };
      },
    });
    await town.start();
    await town.waitFor(
      (s) => town.agent(s, "deacon").state === "running" && town.agent(s, "mayor").state === "backoff",
      20_000,
      "the Deacon running and the Mayor in its 1 h backoff",
    );
  });
  after(async () => {
    await town.cleanup();
  });

  const mayorSpawns = (): number =>
    storeEvents(town.root).filter((e) => e.identity === "mayor" && e.type.endsWith("spawn_done")).length;

  it("reload with the daemon running: one line, and the daemon re-reads its config in a pass", async () => {
    const since = new Date().toISOString();
    const pid = town.daemonPid();
    const run = await town.townd(["reload"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `✓ Asked the daemon (PID ${pid}) to reload its config\n`);
    const log = await town.waitForLog(
      (r) =>
        r.time >= since &&
        r.msg.startsWith("Heartbeat complete") &&
        (r.reasons ?? []).includes("config reload"),
      10_000,
      "a pass for the reload",
    );
    // Asked through the control socket, not by a signal to whatever PID daemon.pid names.
    assert.ok(!log.some((r) => r.time >= since && r.msg === "Received SIGHUP, reloading config"));
  });

  it("restart AGENT and reset AGENT with the daemon running answer with the decision taken", async () => {
    const before = town.agent(town.snapshot(), "deacon");
    const restarted = await town.townd(["restart", "deacon"]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(restarted.stdout, "✓ deacon: respawn (restart requested: townd restart)\n");
    await town.waitFor(
      (s) => town.agent(s, "deacon").generation !== before.generation,
      10_000,
      "a new generation of the Deacon",
    );

    const spawns = mayorSpawns();
    const reset = await town.townd(["reset", "mayor"]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(
      reset.stdout,
      "✓ mayor: respawn (pane died (exit status 7))\n",
      "out of its 1 h backoff at once",
    );
    await until("the Mayor respawned after the reset", () => mayorSpawns() > spawns, 10_000);

    assertOneLineError(
      await town.townd(["restart", "r9/witness"]),
      /No supervised agent "r9\/witness"/,
      "restart r9/witness",
    );
    assertOneLineError(
      await town.townd(["reset", "no such!"]),
      /Invalid agent identity "no such!"/,
      "reset 'no such!'",
    );
  });

  it("with the daemon stopped: reload is one line and exit 1; restart and reset are queued and say so", async () => {
    await town.waitFor(
      (s) => town.agent(s, "mayor").state === "backoff",
      15_000,
      "the Mayor back in backoff",
    );
    const stopped = await town.townd(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);

    assertOneLineError(
      await town.townd(["reload"]),
      /^townd: Daemon is not running$/,
      "reload while stopped",
    );

    const restart = await town.townd(["restart", "deacon"]);
    assert.equal(restart.code, 0, restart.stderr);
    assert.equal(
      restart.stdout,
      "● Daemon is not running: the restart of deacon waits until 'townd start'\n",
    );
    const reset = await town.townd(["reset", "mayor"]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(reset.stdout, "● Daemon is not running: the reset of mayor waits until 'townd start'\n");
    const queued = readdirSync(join(town.root, "daemon", "requests")).map(
      (name) => JSON.parse(readFileSync(join(town.root, "daemon", "requests", name), "utf8")) as Json,
    );
    assert.deepEqual(queued, [
      { identity: "deacon", kind: "restart", reason: "townd restart" },
      { identity: "mayor", kind: "reset", reason: "townd reset" },
    ]);
    assertOneLineError(
      await town.townd(["restart", "r9/witness"]),
      /No supervised agent "r9\/witness"/,
      "restart r9/witness (stopped)",
    );
    assertOneLineError(
      await town.townd(["reset", "no such!"]),
      /Invalid agent identity/,
      "reset 'no such!' (stopped)",
    );
  });

  it("the next `townd start` carries the queued requests out", async () => {
    const before = town.snapshot();
    const deacon = town.agent(before, "deacon");
    const spawns = mayorSpawns();
    const startedAt = new Date().toISOString();
    await town.start();
    const after = await town.waitFor(
      (s) => town.agent(s, "deacon").generation !== deacon.generation && s.daemon.heartbeat_count > 0,
      15_000,
      "the Deacon restarted by the queued request",
    );
    const restarted = town.agent(after, "deacon");
    assert.equal(restarted.restarts_manual, deacon.restarts_manual + 1);
    const done = storeEvents(town.root).find(
      (e) => e.type === "respawn_done" && e.generation === restarted.generation,
    );
    assert.equal(done?.reason, "restart requested: townd restart");
    await until("the Mayor respawned at once, its 1 h backoff reset", () => mayorSpawns() > spawns, 10_000);
    const respawned = storeEvents(town.root).filter(
      (e) => e.identity === "mayor" && e.type === "respawn_done" && e.ts >= startedAt,
    );
    assert.ok(respawned.length > 0);
    assert.deepEqual(readdirSync(join(town.root, "daemon", "requests")), [], "the queue is empty");
  });
});
