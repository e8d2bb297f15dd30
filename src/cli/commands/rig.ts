import type { Command } from "commander";
import { addRig, listRigs, removeRig, setRigStatus, type RigStatusChange } from "../../town/rigs.js";
import { printJson, resolveTown, type CliContext } from "../context.js";
import { formatTable } from "../table.js";

export function registerRig(program: Command, ctx: CliContext): void {
  const rig = program.command("rig").description("manage the town's rigs (projects)");

  rig
    .command("add")
    .description("register a rig in mayor/rigs.json and create its directory")
    .argument("<name>", "letters, digits, '-' or '_'")
    .option("--git-url <url>", "the rig's repository")
    .action(async (name: string, opts: { gitUrl?: string }) => {
      await addRig(resolveTown(ctx), name, opts.gitUrl);
      ctx.out(`✓ Rig "${name}" added`);
    });

  rig
    .command("list")
    .description("list rigs with their operational state")
    .option("--json", "machine-readable output")
    .action((opts: { json?: boolean }) => {
      const rigs = listRigs(resolveTown(ctx));
      if (opts.json === true) {
        printJson(ctx, { rigs });
        return;
      }
      if (rigs.length === 0) {
        ctx.out("No rigs. Add one with: townd rig add <name>");
        return;
      }
      formatTable(
        ["RIG", "STATE", "GIT URL"],
        rigs.map((r) => [r.name, r.reason === "" ? r.state : `${r.state} (${r.reason})`, r.git_url ?? "-"]),
      ).forEach((line) => {
        ctx.out(line);
      });
    });

  rig
    .command("remove")
    .description("unregister a rig (its directory and files are kept)")
    .argument("<name>")
    .action(async (name: string) => {
      await removeRig(resolveTown(ctx), name);
      ctx.out(`✓ Rig "${name}" removed from mayor/rigs.json (directory kept)`);
    });

  const changes: [RigStatusChange, string][] = [
    ["park", "stop supervising the rig's agents (no new sessions)"],
    ["unpark", "resume supervising a parked rig"],
    ["dock", "dock the rig (no new sessions)"],
    ["undock", "resume supervising a docked rig"],
  ];
  for (const [change, description] of changes) {
    rig
      .command(change)
      .description(description)
      .argument("<name>")
      .action(async (name: string) => {
        const changed = await setRigStatus(resolveTown(ctx), name, change);
        const past = `${change}ed`;
        ctx.out(changed ? `✓ Rig "${name}" ${past}` : `● Rig "${name}" was already ${past}`);
      });
  }
}
