import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import { AppError } from "../../errors.js";
import { TmuxClient } from "../../tmux/client.js";
import { parseIdentity, sessionName } from "../../town/identity.js";
import { townTmuxTarget } from "../../supervisor/tmux-socket.js";
import { prepareSocketDir } from "../../tmux/socket-dir.js";
import { resolveTown, type CliContext } from "../context.js";

export function registerAttach(program: Command, ctx: CliContext): void {
  program
    .command("attach")
    .description("attach your terminal to an agent's tmux session (detach with C-b d)")
    .argument(
      "<agent>",
      "identity, e.g. deacon, mayor, gastown/witness, gastown-refinery, gastown/polecats/max",
    )
    .action(async (agent: string) => {
      const paths = resolveTown(ctx);
      const session = sessionName(parseIdentity(agent));
      const { socket, policy } = townTmuxTarget(paths, ctx.env);
      // Attaching hands the terminal to whatever server listens there: only in a directory that is ours.
      await prepareSocketDir(socket, policy, process.getuid?.() ?? 0);
      const client = new TmuxClient({ socket });
      if (!(await client.hasSession(session))) {
        throw new AppError(
          "E_NO_SESSION",
          `Cannot attach to ${agent}: no tmux session "${session}" on ${client.socket}`,
        );
      }
      const [command, ...args] = client.attachArgs(session);
      const result = spawnSync(command ?? "tmux", args, { stdio: "inherit", env: ctx.env });
      if (result.error !== undefined)
        throw new AppError("E_ATTACH", `Cannot run tmux: ${result.error.message}`);
      process.exitCode = result.status ?? 1;
    });
}
