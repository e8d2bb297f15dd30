import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ApiUnavailableError, callApi } from "../../api/client.js";
import { probeDaemon } from "../../daemon/instance.js";
import { nudgeDaemon } from "../../daemon/wake.js";
import { describeTownStopped, readTownStopped } from "../../daemon/town-stopped.js";
import { AppError, isAppError } from "../../errors.js";
import { randomBytes } from "node:crypto";
import { desiredAgents } from "../../policy/desired.js";
import type { ManualRequest } from "../../policy/plan.js";
import { heartbeatFile, touchHeartbeat } from "../../supervisor/heartbeats.js";
import { enqueueRequest } from "../../supervisor/operator-queue.js";
import { loadTownConfigStrict } from "../../town/config.js";
import { formatIdentity, parseIdentity, sessionName } from "../../town/identity.js";
import type { TownPaths } from "../../town/paths.js";
import { waitFor } from "../../util/sleep.js";
import { touchAgent } from "../../store/agents.js";
import { withStore } from "../store-access.js";
import { resolveTown, type CliContext } from "../context.js";

/** How long an operator request waits for the daemon's answer. */
const API_TIMEOUT_MS = 15_000;
/** Exit status when a request was sent but its outcome is unknown (EX_TEMPFAIL): not a failure, not a success. */
export const EXIT_OUTCOME_UNKNOWN = 75;

/** The canonical identity of an agent townd supervises, or a one-line error listing the ones it does. */
export function supervisedIdentity(paths: TownPaths, text: string): string {
  const identity = formatIdentity(parseIdentity(text));
  const known = desiredAgents(loadTownConfigStrict(paths)).map((agent) => agent.identity);
  if (!known.includes(identity)) {
    throw new AppError(
      "E_UNKNOWN_AGENT",
      `No supervised agent "${identity}" in this town (agents: ${known.join(", ")})`,
    );
  }
  return identity;
}

/**
 * Sends an operator request: through the control API when the daemon runs (the answer is the decision the
 * planner took), else queued in daemon/requests/ for the daemon's next start.
 */
export async function sendRequest(ctx: CliContext, paths: TownPaths, request: ManualRequest): Promise<void> {
  if (request.kind === "start" || request.kind === "restart") refuseWhileTownStopped(paths, request);
  const daemon = probeDaemon(paths);
  if (daemon.running && request.kind !== "cycle" && request.kind !== "shutdown") {
    // The request carries a deadline: if this command gives up waiting, a daemon that has not begun it by
    // then (a paused one, say) drops it, so a retry never runs it twice.
    const requestId = `op-${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
    const deadline = Date.now() + API_TIMEOUT_MS - 1000;
    try {
      const answer = (await callApi(
        paths.controlSocket,
        "POST",
        `/v1/agents/${request.kind}`,
        { agent: request.identity, deadline, request_id: requestId },
        API_TIMEOUT_MS,
      )) as { decisions: { action: string; reason: string }[] };
      // The planner answered but did not do it (an operator's hold): say so, and fail.
      const refused = answer.decisions.find((d) => d.reason.startsWith(`${request.kind} not done: `));
      if (refused !== undefined) throw new AppError("E_NOT_DONE", `${request.identity}: ${refused.reason}`);
      const decision = answer.decisions.find((d) => d.action !== "none") ?? answer.decisions[0];
      ctx.out(
        `✓ ${request.identity}: ${decision === undefined ? "done" : `${decision.action} (${decision.reason})`}`,
      );
      return;
    } catch (error) {
      if (isAppError(error) && (error.code === "E_API_TIMEOUT" || error.code === "E_API_CONNECTION")) {
        const why =
          error.code === "E_API_TIMEOUT"
            ? `the daemon did not answer within ${API_TIMEOUT_MS / 1000} s`
            : "the daemon closed the connection before answering";
        throw new AppError(
          "E_OUTCOME_UNKNOWN",
          `Sent the ${request.kind} of ${request.identity} (request ${requestId}), but ${why}: outcome unknown (the daemon drops it if it had not begun it by then); see 'townd why ${request.identity}'`,
          { exitCode: EXIT_OUTCOME_UNKNOWN },
        );
      }
      if (!(error instanceof ApiUnavailableError)) throw error;
    }
  }
  const file = enqueueRequest(paths, request);
  const woken = await nudgeDaemon(paths, "/v1/wake", "SIGUSR1");
  if (woken.outcome === "not-running") {
    ctx.out(`● Daemon is not running: the ${request.kind} of ${request.identity} waits until 'townd start'`);
    return;
  }
  if (woken.outcome === "unverified") {
    ctx.out(
      `● Queued the ${request.kind} of ${request.identity}; could not wake the daemon (${woken.why}), it takes the request at its next pass`,
    );
    return;
  }
  const taken = await waitFor(() => (existsSync(file) ? undefined : true), {
    timeoutMs: 10_000,
    intervalMs: 50,
  });
  if (taken === undefined) {
    throw new AppError("E_TIMEOUT", "The daemon has not taken the request within 10 s; it stays queued");
  }
  ctx.out(`✓ The daemon took the ${request.kind} of ${request.identity}; see 'townd status'`);
}

/** While `townd down` holds the town, nothing but `townd up` starts an agent: say so before asking. */
function refuseWhileTownStopped(paths: TownPaths, request: ManualRequest): void {
  const stopped = readTownStopped(paths);
  if (stopped === null) return;
  throw new AppError(
    "E_TOWN_STOPPED",
    `Cannot ${request.kind} ${request.identity}: ${describeTownStopped(stopped)}; 'townd up' starts the town`,
  );
}

export function registerAgentOps(program: Command, ctx: CliContext): void {
  program
    .command("reset")
    .description("clear an agent's backoff and crash loop so the daemon retries it at once")
    .argument("<agent>", "identity, e.g. deacon or gastown/witness")
    .action(async (agent: string) => {
      const paths = resolveTown(ctx);
      const identity = supervisedIdentity(paths, agent);
      await sendRequest(ctx, paths, { identity, kind: "reset", reason: "townd reset" });
    });

  program
    .command("heartbeat")
    .description("record that an agent is alive (for agents whose role has a heartbeat watchdog)")
    .argument("[action]", "what the agent is doing, kept as last_action")
    .option("--as <agent>", "the agent's identity (default: $TOWND_IDENTITY or $BD_ACTOR from its session)")
    .action(async (action: string | undefined, opts: { as?: string }) => {
      const paths = resolveTown(ctx);
      const given = opts.as ?? ctx.env["TOWND_IDENTITY"] ?? ctx.env["BD_ACTOR"];
      if (given === undefined || given === "") {
        throw new AppError(
          "E_NO_IDENTITY",
          "Cannot tell which agent this is: pass --as AGENT (or run inside an agent's session)",
        );
      }
      const id = parseIdentity(given);
      const cycle = await touchHeartbeat(heartbeatFile(paths, id.role, sessionName(id)), action, new Date());
      // A heartbeat is an act of the agent: it moves updated_at, the GUPP check's clock.
      withStore(paths, (db) => {
        touchAgent(db, formatIdentity(id));
      });
      ctx.out(`✓ Heartbeat #${cycle} for ${formatIdentity(id)}`);
    });
}
