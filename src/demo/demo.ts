import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pc } from "../cli/colour.js";
import { collectStatus, renderStatus } from "../cli/status.js";
import type { CliContext } from "../cli/context.js";
import { runDaemon } from "../daemon/daemon.js";
import { followLog } from "../daemon/logs.js";
import { AppError } from "../errors.js";
import type { AgentStatus } from "../supervisor/agents-file.js";
import { Supervisor } from "../supervisor/supervisor.js";
import { TmuxClient } from "../tmux/client.js";
import { townTmuxSocket } from "../supervisor/tmux-socket.js";
import { initTown } from "../town/init.js";
import { addRig } from "../town/rigs.js";
import { townPaths, type TownPaths } from "../town/paths.js";
import { sleep, waitFor } from "../util/sleep.js";

const MARKER = ".townd-demo";
const RIGS = ["alpha", "beta"];
const CRASH_VICTIM = "alpha/witness";

export interface DemoOptions {
  dir: string;
  /** Keep the daemon and agents running until Ctrl-C instead of cleaning up after the tour. */
  keep: boolean;
}

/**
 * A guided run of townd's main job on a throw-away town whose agents are all the simulated agent: the
 * daemon starts them, one is killed and comes back, and the status table shows it all.
 */
export async function runDemo(options: DemoOptions, ctx: CliContext): Promise<void> {
  const paths = await freshDemoTown(resolve(ctx.cwd, options.dir));
  const say = (text: string): void => {
    ctx.out(pc.bold(pc.cyan(`\n▶ ${text}`)));
  };
  say(
    `Demo town at ${paths.root}: rigs ${RIGS.join(", ")}, every agent runs the simulated agent (no API key)`,
  );

  const stopDaemon = new AbortController();
  const stopLogs = new AbortController();
  const daemon = runDaemon({
    paths,
    work: new Supervisor({ paths, betweenNudgesMs: 500 }),
    signal: stopDaemon.signal,
  });
  const logs = (async () => {
    await waitFor(() => (existsSync(paths.logFile) ? true : undefined), { timeoutMs: 5000 });
    await followLog(
      paths.logFile,
      false,
      (line) => {
        ctx.out(pc.dim(`  log │ ${line}`));
      },
      stopLogs.signal,
    );
  })();

  try {
    say("The daemon's first pass starts the Deacon and each rig's Witness and Refinery");
    const running = await waitForAgents(
      paths,
      (agents) => agents.length > 0 && agents.every(isSettled),
      30_000,
    );
    if (running === undefined)
      throw new AppError("E_DEMO", "Agents did not start within 30 s; see the log above");
    await sleep(300);
    renderStatus(await collectStatus(paths), ctx);

    const victim = running.find((agent) => agent.identity === CRASH_VICTIM);
    if (victim?.pid == null) throw new AppError("E_DEMO", `${CRASH_VICTIM} has no running process to crash`);
    say(`Crash: kill -9 ${CRASH_VICTIM} (PID ${victim.pid}); tmux reports the death, the daemon replaces it`);
    const killedAt = Date.now();
    process.kill(victim.pid, "SIGKILL");
    const back = await waitForAgents(
      paths,
      (agents) =>
        agents.some(
          (a) => a.identity === CRASH_VICTIM && a.generation !== victim.generation && a.pid !== null,
        ),
      15_000,
    );
    if (back === undefined) throw new AppError("E_DEMO", `${CRASH_VICTIM} was not restarted within 15 s`);
    const recovered = back.find((a) => a.identity === CRASH_VICTIM);
    say(
      `${CRASH_VICTIM} is back in ${Date.now() - killedAt} ms as PID ${recovered?.pid ?? "?"} (heartbeat interval: 3 minutes)`,
    );
    await waitForAgents(paths, (agents) => agents.every(isSettled), 15_000);
    renderStatus(await collectStatus(paths), ctx);

    const socket = townTmuxSocket(paths);
    say(`Look inside an agent: townd --town ${paths.root} attach deacon   (detach: C-b d)`);
    if (options.keep) {
      ctx.out(
        "  The daemon keeps running; press Ctrl-C to stop it (the agents keep running until you kill tmux:",
      );
      ctx.out(`  tmux -S ${socket} kill-server)`);
      await daemon;
    } else {
      say("Stopping the daemon and the demo's tmux server (run with --keep to leave them running)");
    }
  } finally {
    stopDaemon.abort(new Error("demo finished"));
    await daemon;
    stopLogs.abort(new Error("demo finished"));
    await logs.catch(() => undefined);
    if (!options.keep)
      await new TmuxClient({ socket: townTmuxSocket(paths) }).killServer().catch(() => undefined);
  }
  ctx.out(pc.green("\n✓ Demo finished."));
}

function isSettled(agent: AgentStatus): boolean {
  return agent.state === "running" || agent.state === "disabled";
}

async function waitForAgents(
  paths: TownPaths,
  predicate: (agents: AgentStatus[]) => boolean,
  timeoutMs: number,
): Promise<AgentStatus[] | undefined> {
  return waitFor(
    async () => {
      const { agents } = await collectStatus(paths);
      return predicate(agents) ? agents : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Creates the demo town, replacing an earlier demo town but never a directory that is not one. */
async function freshDemoTown(root: string): Promise<TownPaths> {
  if (existsSync(root)) {
    if (!existsSync(join(root, MARKER))) {
      throw new AppError(
        "E_DEMO_DIR",
        `Cannot create the demo town: ${root} exists and is not an earlier demo town`,
      );
    }
    await new TmuxClient({ socket: townTmuxSocket(townPaths(root)) }).killServer().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
  const paths = await initTown({ dir: root, name: "demo", defaultAgent: "sim" });
  writeFileSync(
    join(root, MARKER),
    "This directory was made by `townd demo` and is replaced by the next one.\n",
  );
  for (const rig of RIGS) await addRig(paths, rig);
  return paths;
}
