import type { Logger } from "../daemon/logger.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonClock } from "../util/monotonic-clock.js";
import { HeartbeatTimes } from "./heartbeat-times.js";
import { heartbeatFile, readHeartbeat } from "./heartbeats.js";
import type { ObservedAgent } from "./observe.js";

/** The last hook event an agent's current generation sent (daemon time); null when none. */
export type HookBeat = (identity: string, generation: string | null) => number | null;

/**
 * Adds to a watched agent what its heartbeat says: the latest of its heartbeat file and its hook events,
 * and whether the file was ever seen (only the file arms the watchdog, B33). A file the agent writes
 * badly counts as no heartbeat, and is logged once per problem, not every pass.
 */
export class HeartbeatStage {
  private readonly times: HeartbeatTimes;
  private readonly problems = new Map<string, string>();
  private readonly paths: TownPaths;
  private readonly hookBeat: HookBeat;

  constructor(paths: TownPaths, clock: DaemonClock, hookBeat: HookBeat) {
    this.paths = paths;
    this.times = new HeartbeatTimes(clock);
    this.hookBeat = hookBeat;
  }

  observe(agent: ObservedAgent, config: TownConfig, log: Logger): ObservedAgent {
    const watchdog = config.daemon.watchdogs.get(agent.desired.id.role);
    if (watchdog === undefined) return agent;
    const file = heartbeatFile(this.paths, agent.desired.id.role, agent.desired.session);
    let problem: string | undefined;
    const heartbeatAt = this.times.observe(
      file,
      readHeartbeat(file, (m) => (problem = m)),
    );
    if (problem !== undefined && this.problems.get(file) !== problem)
      log.warn({ agent: agent.desired.identity }, `Heartbeat unusable, counted as none: ${problem}`);
    if (problem === undefined) this.problems.delete(file);
    else this.problems.set(file, problem);
    // Every hook event is a heartbeat of its generation; only the file arms the watchdog (B33).
    const hookBeat = this.hookBeat(agent.desired.identity, agent.generation);
    const latest =
      heartbeatAt === null ? hookBeat : hookBeat === null ? heartbeatAt : Math.max(heartbeatAt, hookBeat);
    return { ...agent, watchdog, heartbeatAt: latest, heartbeatFileSeen: heartbeatAt !== null };
  }
}
