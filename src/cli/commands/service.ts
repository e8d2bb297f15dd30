import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { selfCommand } from "../../agents/self.js";
import { AppError } from "../../errors.js";
import { systemdUnit, unitName, userUnitDir } from "../../service/systemd.js";
import { resolveTown, type CliContext } from "../context.js";

export function registerService(program: Command, ctx: CliContext): void {
  const service = program.command("service").description("run the daemon under systemd");
  service
    .command("install")
    .description("write a systemd user unit that runs 'townd run' for this town, and say how to enable it")
    .option("--print", "only print the unit")
    .option("--force", "replace an existing unit file")
    .action((opts: { print?: boolean; force?: boolean }) => {
      const paths = resolveTown(ctx);
      const self = selfCommand();
      if (self.length !== 2) {
        throw new AppError(
          "E_SERVICE",
          "Cannot write a unit from a source checkout: build first (npm run build)",
        );
      }
      const [node = process.execPath, main = ""] = self;
      const unit = systemdUnit({
        townRoot: paths.root,
        node,
        main,
        path: ctx.env["PATH"] ?? "/usr/bin:/bin",
      });
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
}
