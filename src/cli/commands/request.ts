import type { Command } from "commander";
import { nudgeDaemon } from "../../daemon/wake.js";
import { AppError } from "../../errors.js";
import type { LifecycleAction } from "../../lifecycle/parse.js";
import { mailLifecycleRequest } from "../../lifecycle/request-mail.js";
import { touchAgent } from "../../store/agents.js";
import { resolveTown, type CliContext } from "../context.js";
import { MAX_REASON_BYTES, checkLength } from "../../util/text-limits.js";
import { callerIdentity, withStore } from "../store-access.js";

const ACTIONS: readonly LifecycleAction[] = ["cycle", "restart", "shutdown"];

export function registerRequest(program: Command, ctx: CliContext): void {
  program
    .command("request")
    .description(
      "ask the daemon to cycle (respawn with handoff), restart (fresh) or shut down this agent's session",
    )
    .argument("<action>", ACTIONS.join(" | "))
    .option("--as <agent>", "the requesting agent (default: $TOWND_IDENTITY or $BD_ACTOR of this session)")
    .option("--reason <text>", "why, kept with the request")
    .action(async (action: string, opts: { as?: string; reason?: string }) => {
      if (!ACTIONS.includes(action as LifecycleAction)) {
        throw new AppError("E_BAD_ARGUMENT", `Invalid action "${action}": expected ${ACTIONS.join(", ")}`);
      }
      if (opts.reason !== undefined) checkLength("--reason", opts.reason, MAX_REASON_BYTES);
      const paths = resolveTown(ctx);
      const identity = callerIdentity(opts.as, ctx.env);
      const message = withStore(paths, (db) => {
        touchAgent(db, identity);
        return mailLifecycleRequest(db, identity, action as LifecycleAction, opts.reason);
      });
      // Wake the daemon so the action starts now, not at the next heartbeat.
      const woken = await nudgeDaemon(paths, "/v1/wake", "SIGUSR1");
      if (woken.outcome === "not-running")
        ctx.out(`● Queued ${action} of ${identity} (${message.id}); the daemon is not running`);
      else if (woken.outcome !== "unverified")
        ctx.out(`✓ Requested ${action} of ${identity} (${message.id})`);
      else
        ctx.out(
          `● Queued ${action} of ${identity} (${message.id}); could not wake the daemon (${woken.why}), it takes the request at its next pass`,
        );
    });

  program
    .command("start-agent")
    .description("start an agent that 'townd stop-agent' or a shutdown request stopped")
    .argument("<agent>", "identity, e.g. deacon or gastown/witness")
    .action(async (agent: string) => {
      const paths = resolveTown(ctx);
      // Loaded here, not at the top: `townd request`, which agents run, needs none of it.
      const { sendRequest, supervisedIdentity } = await import("./agent-ops.js");
      const identity = supervisedIdentity(paths, agent);
      await sendRequest(ctx, paths, { identity, kind: "start", reason: "townd start-agent" });
    });
}
