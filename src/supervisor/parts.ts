import { join } from "node:path";
import type { Logger } from "../daemon/logger.js";
import type { ActivityChange } from "../activity/book.js";
import { classifyScreen } from "../activity/classify.js";
import { claudeSettingsPaths } from "../activity/hooks/settings-file.js";
import { readStatusline, statuslineWall } from "../activity/hooks/statusline.js";
import type { TmuxClient } from "../tmux/client.js";
import { Nudger } from "../tmux/nudge.js";
import { ScreenBatcher } from "../tmux/screen-batch.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import type { DaemonClock } from "../util/monotonic-clock.js";
import { ActivityTracker } from "./activity-tracker.js";
import { ArmedRespawns, supportsArmedHooks } from "./armed-respawns.js";
import { ConductStage } from "./conduct-stage.js";
import type { DeathWatch } from "./death-poll.js";
import { Executor } from "./executor.js";
import { HookActivity } from "./hook-activity.js";
import { paneDiedHook } from "./pane-died-hook.js";
import { StartupJournal, type PendingStartup } from "./startup-journal.js";
import { Startups, type StartupNotice } from "./startups.js";
import { profileOf, StatusStage } from "./status-stage.js";
import { TmuxWatch } from "./tmux-watch.js";

/** The supervisor's working parts, wired to each other once the daemon knows its tmux server. */
export interface Parts {
  readonly client: TmuxClient;
  readonly executor: Executor;
  readonly startups: Startups;
  readonly watch: TmuxWatch;
  readonly tracker: ActivityTracker;
  readonly hooks: HookActivity;
  readonly conduct: ConductStage;
  readonly status: StatusStage;
  /** Pre-armed respawns; null when this tmux cannot run them (before 3.2). */
  readonly armed: ArmedRespawns | null;
}

/** What the parts tell the supervisor, and ask of it, while they run. */
export interface PartsEvents {
  /** Asks for a pass now. */
  readonly trigger: (reason: string) => void;
  readonly activityChanged: (change: ActivityChange) => void;
  readonly startupNotice: (notice: StartupNotice) => void;
  /** The agent whose current generation this is (hook events of replaced generations are dropped). */
  readonly identityOfGeneration: (generation: string) => string | undefined;
  /** The config of the latest pass. */
  readonly config: () => TownConfig;
  readonly logger: () => Logger;
  /** An event was recorded or the status rewritten (the dashboard's stream, the metrics). */
  readonly changed: () => void;
}

export interface PartsInput {
  readonly paths: TownPaths;
  readonly clock: DaemonClock;
  readonly client: TmuxClient;
  /** tmux's own `-V` answer: arming needs 3.2. */
  readonly version: string;
  readonly deathWatch: DeathWatch;
  readonly betweenNudgesMs: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly events: PartsEvents;
}

/**
 * Wires the parts and starts the hook intake. Returns them with the start-up sequences an earlier daemon
 * left unfinished (its journal), for the first pass to resume.
 */
export function wireParts(input: PartsInput): { parts: Parts; unfinishedStartups: PendingStartup[] } {
  const { paths, clock, client, version, events, signal, log } = input;
  const { statuslineDir, eventsFile } = claudeSettingsPaths(paths.daemonDir);
  const tracker = new ActivityTracker({
    client,
    classify: classifyScreen,
    now: clock.wall,
    onChange: events.activityChanged,
    statuslineWall: (agent, now) => {
      const generation = agent.observed.generation;
      if (generation === null || agent.profile?.name !== "claude") return null;
      const reading = readStatusline(statuslineDir, generation);
      return reading === null ? null : statuslineWall(reading, now);
    },
  });
  const hooks = new HookActivity({
    file: eventsFile,
    tracker,
    identityOf: events.identityOfGeneration,
    now: clock.now,
    onProblem: (message) => {
      events.logger().warn(message);
    },
  });
  hooks.start();
  const journal = new StartupJournal(join(paths.daemonDir, "startups.json"));
  const unfinishedStartups = journal.load();
  const nudger = new Nudger(client);
  const startups = new Startups({
    client: new ScreenBatcher(client),
    nudger,
    betweenNudgesMs: input.betweenNudgesMs,
    now: clock.wall,
    journal,
    onNotice: events.startupNotice,
    // The agent moves from "starting" to "running": observe it now, not at the next heartbeat.
    onDone: () => {
      events.trigger("start-up complete");
    },
  });
  const isStarting = (identity: string): boolean => startups.isStarting(identity);
  const executor = new Executor({ client, nudger, townRoot: paths.root, now: clock.now, startups });
  const watch = new TmuxWatch({
    watch: input.deathWatch,
    snapshot: () => client.snapshot({ signal }),
    serverPid: () => client.lastServerPid,
    onNews: events.trigger,
  });
  const conduct = new ConductStage({
    tracker,
    hooks,
    statuslineDir,
    clock,
    profileOf: (agent) => profileOf(agent, events.config())?.name ?? null,
    isStarting,
  });
  const armed = supportsArmedHooks(version)
    ? new ArmedRespawns({
        client,
        townRoot: paths.root,
        wake: paneDiedHook(paths.paneEventsFile),
        now: clock.now,
        isStarting,
      })
    : null;
  if (armed === null)
    log.info(`${version} cannot arm respawns (pane hooks need tmux 3.2): every death waits for a pass`);
  const status = new StatusStage({
    paths,
    clock,
    startups,
    conduct,
    tracker,
    hooks,
    statuslineDir,
    logger: events.logger,
    changed: events.changed,
    armed: (identity) => armed?.isArmed(identity) ?? false,
  });
  const parts = { client, executor, startups, watch, tracker, hooks, conduct, status, armed };
  return { parts, unfinishedStartups };
}
