import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { selfCommand } from "../../agents/self.js";
import { probeDaemon } from "../../daemon/instance.js";
import { AppError, fsErrorMessage } from "../../errors.js";
import { systemctl } from "../../service/systemctl.js";
import { systemdUnit, unitName, userUnitDir } from "../../service/systemd.js";
import type { TownPaths } from "../../town/paths.js";
import { printJson, resolveTown, type CliContext } from "../context.js";
import { visible } from "../safe-text.js";

/** The unit `service install` writes for this town and this townd; null from a source checkout. */
function currentUnit(ctx: CliContext, paths: TownPaths): string | null {
  const self = selfCommand();
  if (self.length !== 2) return null;
  const [node = process.execPath, main = ""] = self;
  return systemdUnit({ townRoot: paths.root, node, main, path: ctx.env["PATH"] ?? "/usr/bin:/bin" });
}

/** `townd service status --json` (documented in the README). */
interface ServiceStatus {
  unit: string;
  file: string;
  installed: boolean;
  /** The file is what `service install` writes now (same townd, node and town); null when unknown. */
  up_to_date: boolean | null;
  /** `systemctl --user is-enabled` / `is-active`; null when systemd did not say. */
  enabled: string | null;
  active: string | null;
  /** Why systemd could not be asked (no user bus, no systemctl); null when it answered. */
  systemd_problem: string | null;
  daemon: { running: boolean; pid: number | null };
}

function serviceStatus(ctx: CliContext, paths: TownPaths): ServiceStatus {
  const unit = unitName(paths.root);
  const file = join(userUnitDir(ctx.env), unit);
  let text: string | null = null;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = null;
  }
  const wanted = text === null ? null : currentUnit(ctx, paths);
  const enabled = systemctl(["is-enabled", unit], ctx.env);
  const active = systemctl(["is-active", unit], ctx.env);
  const daemon = probeDaemon(paths);
  return {
    unit,
    file,
    installed: text !== null,
    up_to_date: text === null || wanted === null ? null : text === wanted,
    enabled: enabled.value,
    active: active.value,
    systemd_problem: enabled.problem ?? active.problem,
    daemon: { running: daemon.running, pid: daemon.running ? (daemon.pid ?? null) : null },
  };
}

function renderServiceStatus(ctx: CliContext, s: ServiceStatus): void {
  if (!s.installed) {
    ctx.out(`○ ${s.unit} is not installed (no ${visible(s.file)}); 'townd service install' writes it`);
  } else {
    const freshness =
      s.up_to_date === false
        ? " — differs from what 'townd service install' writes now (--force replaces it)"
        : "";
    ctx.out(`● ${s.unit} is installed at ${visible(s.file)}${freshness}`);
  }
  ctx.out(
    s.systemd_problem === null
      ? `  systemd: ${s.enabled ?? "unknown"}, ${s.active ?? "unknown"}`
      : `  systemd: cannot tell (${visible(s.systemd_problem)})`,
  );
  ctx.out(`  Daemon: ${s.daemon.running ? `running (PID ${s.daemon.pid ?? "unknown"})` : "not running"}`);
}

export function registerService(program: Command, ctx: CliContext): void {
  const service = program.command("service").description("run the daemon under systemd");
  service
    .command("install")
    .description("write a systemd user unit that runs 'townd run' for this town, and say how to enable it")
    .option("--print", "only print the unit")
    .option("--force", "replace an existing unit file")
    .action((opts: { print?: boolean; force?: boolean }) => {
      const paths = resolveTown(ctx);
      const unit = currentUnit(ctx, paths);
      if (unit === null) {
        throw new AppError(
          "E_SERVICE",
          "Cannot write a unit from a source checkout: build first (npm run build)",
        );
      }
      const name = unitName(paths.root);
      if (opts.print === true) {
        ctx.out(unit.trimEnd());
        return;
      }
      const dir = userUnitDir(ctx.env);
      const file = join(dir, name);
      if (existsSync(file) && opts.force !== true) {
        throw new AppError("E_EXISTS", `${file} already exists (use --force to replace it)`);
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, unit, { mode: 0o644 });
      ctx.out(`✓ Wrote ${file}`);
      ctx.out("  Enable it (and stop a daemon started by hand first: townd stop):");
      ctx.out(`    systemctl --user daemon-reload && systemctl --user enable --now ${name}`);
      ctx.out("  Keep it running after you log out:  loginctl enable-linger");
    });

  service
    .command("status")
    .description("is this town's unit installed and current, and what systemd says of it")
    .option("--json", "machine-readable output (documented in the README)")
    .action((opts: { json?: boolean }) => {
      const status = serviceStatus(ctx, resolveTown(ctx));
      if (opts.json === true) printJson(ctx, status);
      else renderServiceStatus(ctx, status);
    });

  service
    .command("uninstall")
    .description("disable and stop this town's unit (agents keep running) and remove its file")
    .action(() => {
      const paths = resolveTown(ctx);
      const name = unitName(paths.root);
      const file = join(userUnitDir(ctx.env), name);
      if (!existsSync(file)) {
        ctx.out(`○ ${name} is not installed (no ${file}); nothing to do`);
        return;
      }
      // Stopping the unit stops the daemon it runs; KillMode=process leaves the agents' tmux server alone.
      const disabled = systemctl(["disable", "--now", name], ctx.env);
      if (disabled.ok)
        ctx.out(
          `✓ Disabled and stopped ${name} (agents keep running; 'townd start' runs the daemon by hand)`,
        );
      else
        ctx.err(
          `⚠ Could not disable ${name} (${disabled.problem ?? disabled.value ?? "systemctl failed"}); if systemd runs it, stop it with: systemctl --user disable --now ${name}`,
        );
      try {
        rmSync(file);
      } catch (error) {
        throw new AppError("E_SERVICE", `Cannot remove ${file}: ${fsErrorMessage(error)}`, { cause: error });
      }
      ctx.out(`✓ Removed ${file}`);
      if (disabled.ok) systemctl(["daemon-reload"], ctx.env);
    });
}
