import type { Command } from "commander";
import { ApiUnavailableError, callApi } from "../../api/client.js";
import { stopDaemon } from "../../daemon/control.js";
import { probeDaemon } from "../../daemon/instance.js";
import { describeTownStopped, writeTownStopped, type TownStopped } from "../../daemon/town-stopped.js";
import { AppError, errorMessage, isAppError } from "../../errors.js";
import type { Decision } from "../../policy/plan.js";
import { killAgentSessions } from "../../supervisor/kill-sessions.js";
import { enqueueRequest } from "../../supervisor/operator-queue.js";
import { loadTownConfigStrict } from "../../town/config.js";
import type { TownPaths } from "../../town/paths.js";
import { waitFor } from "../../util/sleep.js";
import { resolveTown, type CliContext } from "../context.js";
import { sendRequest, supervisedIdentity } from "./agent-ops.js";
import { describeStop, parseTimeout, start } from "./daemon.js";

/** A town's down or up waits for the pass that carries it out: every agent's kill or start. */
const TOWN_API_TIMEOUT_MS = 60_000;

/** The kill grace of the town's settings; the default when they cannot be read (down must still work). */
function killGraceMs(paths: TownPaths): number {
  try {
    return loadTownConfigStrict(paths).daemon.killGracePeriodMs;
  } catch {
    return 5_000;
  }
}

function list(identities: readonly string[]): string {
  return identities.join(", ");
}

/**
 * `townd stop-agent`: the daemon kills the agent and holds it down until `townd start-agent`. With no daemon
 * running the session is ended here and the stop is queued, so the next daemon holds it from its first pass.
 */
async function stopAgent(ctx: CliContext, agent: string): Promise<void> {
  const paths = resolveTown(ctx);
  const identity = supervisedIdentity(paths, agent);
  const request = { identity, kind: "stop", reason: "townd stop-agent" } as const;
  if (probeDaemon(paths).running) {
    await sendRequest(ctx, paths, request);
    return;
  }
  enqueueRequest(paths, request);
  const ended = await killAgentSessions(paths, {
    identities: new Set([identity]),
    graceMs: killGraceMs(paths),
  });
  ctx.out(
    `✓ ${identity}: ${ended.length > 0 ? "stopped" : "was not running"}; the daemon is not running, and keeps it down when it starts, until 'townd start-agent ${identity}'`,
  );
}

/**
 * `townd down`: the daemon leaves the intent and kills every agent in one pass (the intent is written in the
 * same step that queues the request, so the pass that acts on it is the one that answers), then it is
 * stopped, then whatever session is left is ended here. Without an answering daemon the intent is written
 * here, before anything is stopped, so nothing brings the agents back whatever happens next.
 */
async function down(ctx: CliContext, timeoutMs: number): Promise<void> {
  const paths = resolveTown(ctx);
  const stopped = new Set<string>();
  const daemon = probeDaemon(paths);
  if (daemon.running) {
    try {
      const answer = (await callApi(
        paths.controlSocket,
        "POST",
        "/v1/town/down",
        {},
        TOWN_API_TIMEOUT_MS,
      )) as {
        decisions: Decision[];
      };
      for (const d of answer.decisions) if (d.action === "kill") stopped.add(d.identity);
    } catch (error) {
      if (!(error instanceof ApiUnavailableError) && !isAppError(error)) throw error;
      ctx.err(`⚠ The daemon did not stop the agents (${errorMessage(error)}); stopping them here`);
    }
    const intent = writeTownStopped(paths, new Date());
    ctx.out(describeStop(await stopDaemon(paths, { timeoutMs })));
    await sweep(ctx, paths, stopped, intent);
  } else {
    const intent = writeTownStopped(paths, new Date());
    ctx.out("○ Daemon was not running");
    await sweep(ctx, paths, stopped, intent);
  }
}

/** Ends every agent session still there and says what `down` did. */
async function sweep(
  ctx: CliContext,
  paths: TownPaths,
  stopped: Set<string>,
  intent: TownStopped,
): Promise<void> {
  for (const identity of await killAgentSessions(paths, { graceMs: killGraceMs(paths) }))
    stopped.add(identity);
  ctx.out(
    stopped.size === 0
      ? "○ No agent was running"
      : `✓ Stopped ${stopped.size} agent(s): ${list([...stopped])}`,
  );
  ctx.out(
    `■ Town stopped (${describeTownStopped(intent)}): 'townd start' keeps every agent down; 'townd up' starts the town`,
  );
}

/** `townd up`: the daemon (started when it does not run) lifts the town's stop and starts its agents. */
async function up(ctx: CliContext): Promise<void> {
  const paths = resolveTown(ctx);
  await start(ctx, paths, { townStartsNext: true });
  // A daemon just started opens its control socket a moment after it reports itself up.
  let lastError: unknown;
  const answer = await waitFor(
    async () => {
      try {
        return (await callApi(paths.controlSocket, "POST", "/v1/town/up", {}, TOWN_API_TIMEOUT_MS)) as {
          decisions: Decision[];
        };
      } catch (error) {
        if (!(error instanceof ApiUnavailableError)) throw error;
        lastError = error;
        return undefined;
      }
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  ).catch((error: unknown) => {
    if (isAppError(error) && error.code === "E_API_TIMEOUT") {
      throw new AppError(
        "E_OUTCOME_UNKNOWN",
        `Asked the daemon to start the town, but it did not answer within ${TOWN_API_TIMEOUT_MS / 1000} s; see 'townd status'`,
        { exitCode: 75 },
      );
    }
    throw error;
  });
  if (answer === undefined) {
    throw new AppError(
      "E_API",
      `Cannot reach the daemon on ${paths.controlSocket} (${errorMessage(lastError)}); the town stays stopped`,
    );
  }
  const started = answer.decisions.filter((d) => d.action === "spawn" || d.action === "respawn");
  ctx.out(
    started.length === 0
      ? "● No agent needed starting"
      : `✓ Starting ${started.length} agent(s): ${list(started.map((d) => d.identity))}`,
  );
  const held = answer.decisions.filter((d) => d.holdBy === "operator" && d.requested !== true);
  if (held.length > 0)
    ctx.out(
      `● Still stopped with 'townd stop-agent': ${list(held.map((d) => d.identity))} ('townd start-agent AGENT' starts one)`,
    );
}

export function registerOperatorCommands(program: Command, ctx: CliContext): void {
  program
    .command("stop-agent")
    .description("stop an agent and keep it down, across daemon restarts, until 'townd start-agent'")
    .argument("<agent>", "identity, e.g. deacon or gastown/witness")
    .action(async (agent: string) => {
      await stopAgent(ctx, agent);
    });

  program
    .command("down")
    .description(
      "stop every agent and the daemon, and keep the town down ('townd start' honours it) until 'townd up'",
    )
    .option("--timeout <duration>", "how long to wait for the daemon after SIGTERM before SIGKILL", "10s")
    .action(async (opts: { timeout: string }) => {
      await down(ctx, parseTimeout(opts.timeout));
    });

  program
    .command("up")
    .description("start the daemon (unless it runs) and the town's agents, lifting a 'townd down'")
    .action(async () => {
      await up(ctx);
    });
}
