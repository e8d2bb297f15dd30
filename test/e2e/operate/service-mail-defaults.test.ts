import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, tempDir, type SupervisedTown } from "../../helpers/supervised-town.js";
import { cliEnv } from "./_helpers.js";

/**
 * `townd mail inbox` without --identity (the caller's own mailbox, from its session's environment), and
 * `townd service status` / `service uninstall`. systemd is never touched: a stand-in `systemctl` first on
 * PATH records how it was called and answers as `systemctl --user` does (or as one with no user bus).
 */

/** No identity inherited from whoever runs the tests. */
const NO_IDENTITY = { TOWND_IDENTITY: undefined, BD_ACTOR: undefined, GT_ROLE: undefined, GT_RIG: undefined };

describe("townd mail inbox with no --identity", { timeout: 60_000 }, () => {
  let town: SupervisedTown;

  before(async () => {
    town = await createSupervisedTown({ rigs: ["r1"] });
    for (const [to, subject] of [
      ["r1/witness", "for the witness"],
      ["mayor", "for the mayor"],
    ] as const) {
      const sent = await town.townd(["mail", "send", to, "-s", subject, "-m", "body"], {
        env: cliEnv(town, NO_IDENTITY),
      });
      assert.equal(sent.code, 0, sent.stderr);
    }
  });
  after(async () => {
    await town.cleanup();
  });

  async function subjects(env: Record<string, string>): Promise<string[]> {
    const run = await town.townd(["mail", "inbox", "--json"], {
      env: cliEnv(town, { ...NO_IDENTITY, ...env }),
    });
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as { subject: string }[]).map((m) => m.subject);
  }

  it("is the mailbox of the agent whose session runs it: $TOWND_IDENTITY, $BD_ACTOR, or Gas Town's $GT_ROLE", async () => {
    assert.deepEqual(await subjects({ TOWND_IDENTITY: "r1/witness" }), ["for the witness"]);
    assert.deepEqual(await subjects({ BD_ACTOR: "r1/witness" }), ["for the witness"]);
    assert.deepEqual(await subjects({ GT_ROLE: "witness", GT_RIG: "r1" }), ["for the witness"]);
    assert.deepEqual(await subjects({ GT_ROLE: "mayor" }), ["for the mayor"]);
    // --identity still wins over the environment.
    const run = await town.townd(["mail", "inbox", "--identity", "mayor", "--json"], {
      env: cliEnv(town, { ...NO_IDENTITY, TOWND_IDENTITY: "r1/witness" }),
    });
    assert.deepEqual(
      (JSON.parse(run.stdout) as { subject: string }[]).map((m) => m.subject),
      ["for the mayor"],
    );
  });

  it("outside an agent's session it fails with one line saying how to name the mailbox", async () => {
    const run = await town.townd(["mail", "inbox"], { env: cliEnv(town, NO_IDENTITY) });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      "townd: Cannot tell whose mailbox: pass --identity ID (e.g. --identity mayor) (or run inside an agent's session, where $TOWND_IDENTITY or $BD_ACTOR is set)\n",
    );
  });
});

describe("townd service status and uninstall", { timeout: 60_000 }, () => {
  let town: SupervisedTown;
  const dirs = tempDir();
  const xdg = join(dirs.dir, "xdg");
  const bin = join(dirs.dir, "bin");
  const calls = join(dirs.dir, "systemctl-calls");
  let unitFile = "";
  let unit = "";

  /** The stand-in: records its argv, then answers `is-enabled`/`is-active` as told by $FAKE_STATE. */
  function writeSystemctl(body: string): void {
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> '${calls}'\n${body}\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
  }

  const env = (): NodeJS.ProcessEnv =>
    cliEnv(town, { XDG_CONFIG_HOME: xdg, PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}` });
  const callLog = (): string[] => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);

  before(async () => {
    town = await createSupervisedTown();
    mkdirSync(bin);
    unit = `townd-${basename(town.root)}.service`;
    unitFile = join(xdg, "systemd", "user", unit);
    writeSystemctl(
      [
        'case "$2" in',
        "  is-enabled) echo enabled; exit 0 ;;",
        "  is-active) echo inactive; exit 3 ;;",
        "esac",
        "exit 0",
      ].join("\n"),
    );
  });
  after(async () => {
    await town.cleanup();
    dirs.cleanup();
  });

  it("status says when no unit is installed, with what systemd and the daemon say", async () => {
    const run = await town.townd(["service", "status"], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      `○ ${unit} is not installed (no ${unitFile}); 'townd service install' writes it\n` +
        "  systemd: enabled, inactive\n  Daemon: not running\n",
    );
    assert.deepEqual(callLog(), [`--user is-enabled ${unit}`, `--user is-active ${unit}`]);
  });

  it("status --json of an installed unit: up to date, then not once the file is edited", async () => {
    const install = await town.townd(["service", "install"], { env: env() });
    assert.equal(install.code, 0, install.stderr);
    const status = async (): Promise<Record<string, unknown>> => {
      const run = await town.townd(["service", "status", "--json"], { env: env() });
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    assert.deepEqual(await status(), {
      unit,
      file: unitFile,
      installed: true,
      up_to_date: true,
      enabled: "enabled",
      active: "inactive",
      systemd_problem: null,
      daemon: { running: false, pid: null },
    });
    writeFileSync(unitFile, `${readFileSync(unitFile, "utf8")}# edited\n`);
    assert.equal((await status())["up_to_date"], false);
    const text = await town.townd(["service", "status"], { env: env() });
    assert.match(
      text.stdout,
      /^● \S+ is installed at \S+ — differs from what 'townd service install' writes now \(--force replaces it\)\n/,
    );
  });

  it("uninstall disables and stops the unit, removes its file and reloads systemd; again, it has nothing to do", async () => {
    writeFileSync(calls, "");
    const run = await town.townd(["service", "uninstall"], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      `✓ Disabled and stopped ${unit} (agents keep running; 'townd start' runs the daemon by hand)\n` +
        `✓ Removed ${unitFile}\n`,
    );
    assert.ok(!existsSync(unitFile));
    assert.deepEqual(callLog(), [`--user disable --now ${unit}`, "--user daemon-reload"]);
    const again = await town.townd(["service", "uninstall"], { env: env() });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `○ ${unit} is not installed (no ${unitFile}); nothing to do\n`);
  });

  it("with no user bus: status says systemd cannot tell, uninstall still removes the file and says what to run", async () => {
    writeSystemctl('echo "Failed to connect to bus: No medium found" >&2\nexit 1');
    const install = await town.townd(["service", "install"], { env: env() });
    assert.equal(install.code, 0, install.stderr);
    const status = await town.townd(["service", "status"], { env: env() });
    assert.match(status.stdout, /\n {2}systemd: cannot tell \(Failed to connect to bus: No medium found\)\n/);
    const run = await town.townd(["service", "uninstall"], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stderr,
      `⚠ Could not disable ${unit} (Failed to connect to bus: No medium found); if systemd runs it, stop it with: systemctl --user disable --now ${unit}\n`,
    );
    assert.equal(run.stdout, `✓ Removed ${unitFile}\n`);
    assert.ok(!existsSync(unitFile));
  });
});
