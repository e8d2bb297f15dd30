import type { FSWatcher } from "node:fs";
import { serverListening } from "../tmux/server-probe.js";
import { join } from "node:path";
import type { PassWork, WorkApi, WorkContext } from "../daemon/daemon.js";
import type { Logger } from "../daemon/logger.js";
import { AppError, errorMessage, fsErrorMessage } from "../errors.js";
import { sleep } from "../util/sleep.js";
import { parseDuration } from "../util/duration.js";
import { DAEMON_SENDER, intakeLifecycle, replyAddress } from "../lifecycle/intake.js";
import { countRequests } from "../lifecycle/request-rate.js";
import { desiredAgents, type PolecatWork } from "../policy/desired.js";
import { plan, type Decision, type ManualRequest } from "../policy/plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { listEvents, recordEvent, type TownEvent } from "../store/events.js";
import {
  finishRequest,
  firstNotice,
  noteRequestGeneration,
  settleLeftoverClaims,
} from "../store/lifecycle.js";
import { workNotices, type PolecatView } from "../lifecycle/work-checks.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import { listPolecats } from "./polecats.js";
import { fitMail, sendMail } from "../store/mail.js";
import { TmuxClient } from "../tmux/client.js";
import { ScreenBatcher } from "../tmux/screen-batch.js";
import { Nudger } from "../tmux/nudge.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import { agentState, failedStartDetail } from "./agent-state.js";
import { recordToStatus, writeAgentsFile, type AgentStatus } from "./agents-file.js";
import { appendFeedEvent } from "./alerts.js";
import { runNotifyCommand, stopNotifiers } from "./notify.js";
import { FailedRestartEpisodes } from "./alert-episodes.js";
import { DeathWatch } from "./death-poll.js";
import { TmuxWatch } from "./tmux-watch.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import { Executor, type ActionResult } from "./executor.js";
import type { ActivityChange } from "../activity/book.js";
import { runtimeProfile, type RuntimeProfile } from "../activity/profiles.js";
import { activityJson } from "../activity/state.js";
import { ActivityTracker } from "./activity-tracker.js";
import { claudeSettingsPaths } from "../activity/hooks/settings-file.js";
import { pruneStatuslines, readStatusline, statuslineWall } from "../activity/hooks/statusline.js";
import { HookActivity } from "./hook-activity.js";
import { classifyScreen } from "../activity/classify.js";
import { withStartProblems } from "./start-checks.js";
import { StartupJournal, type PendingStartup } from "./startup-journal.js";
import { Startups, type StartupNotice } from "./startups.js";
import { heartbeatFile, readHeartbeat } from "./heartbeats.js";
import { HeartbeatTimes } from "./heartbeat-times.js";
import { loadHistory, shiftRecord, shiftTown } from "./persisted-times.js";
import { clockSkew, daemonClock, type DaemonClock } from "../util/monotonic-clock.js";
import { paneDiedHook } from "./pane-died-hook.js";
import { observeAgents, type ObservedAgent } from "./observe.js";
import { takeRequests } from "./operator-queue.js";
import { runtimeFor } from "./spawn-spec.js";
import { StoreHandle } from "./store-handle.js";
import { StoreUpkeep } from "./store-upkeep.js";
import { watchPaneEvents } from "./pane-events.js";
import { requestDeadline, takeLive, type ApiQueued } from "./api-deadline.js";
import { resolveSocketPath } from "../tmux/socket.js";
import { socketDirPolicy } from "../tmux/socket-dir.js";
import { ensureDaemonDir } from "../daemon/daemon-dir.js";

export interface SupervisorOptions {
  paths: TownPaths;
  /** Pause between the startup beacon and the propulsion nudge. */
  betweenNudgesMs?: number;
  /** Daemon time for deadlines, the wall clock for what others read (util/monotonic-clock.ts). */
  clock?: DaemonClock;
}

interface Parts {
  readonly client: TmuxClient;
  readonly executor: Executor;
  readonly startups: Startups;
  readonly watch: TmuxWatch;
}

/** The generation each agent's pane runs, by the identity townd labelled it with. */
function generationsIn(snapshot: TmuxSnapshot): (identity: string) => string | null {
  const byIdentity = new Map<string, string>();
  for (const pane of snapshot.panes)
    if (pane.identity !== null && pane.generation !== null) byIdentity.set(pane.identity, pane.generation);
  return (identity) => byIdentity.get(identity) ?? null;
}

/**
 * Keeps the town's agents alive. Each pass observes every session with one tmux call, takes operator and
 * lifecycle requests, asks the pure planner what to do, has the executor carry it out, and records every
 * decision with its reason. Every spawn goes through the planner's restart policy (I3).
 */
export class Supervisor implements PassWork {
  private readonly paths: TownPaths;
  private readonly clock: DaemonClock;
  private readonly heartbeatTimes: HeartbeatTimes;
  private readonly betweenNudgesMs: number;
  private readonly store: StoreHandle;
  private readonly deathWatch = new DeathWatch();
  private readonly failedRestarts = new FailedRestartEpisodes();
  private readonly lastLogged = new Map<string, string>();
  /** The last problem logged per heartbeat file, so a bad file is reported once, not every pass. */
  private readonly heartbeatProblems = new Map<string, string>();
  private parts: Parts | undefined;
  private records = new Map<string, AgentRecord>();
  private town: TownPolicyState = EMPTY_TOWN_STATE;
  private eventsWatcher: FSWatcher | undefined;
  private trigger: (reason: string) => void = () => undefined;
  private statuses: AgentStatus[] = [];
  private activity: ActivityTracker | undefined;
  private hooks: HookActivity | undefined;
  private statusesAt: string | null = null;
  private knownAgents = new Set<string>();
  private readonly apiQueue: ApiQueued[] = [];
  private socket: string | null = null;
  private readonly upkeep: StoreUpkeep;
  private agentsWriteError = "";
  /** The tmux server was not running when the daemon started (a reboot): the first pass restores, not restarts. */
  private serverLostWhileDown = false;
  /** Start-up sequences an earlier daemon left unfinished: the first pass resumes those still current. */
  private unfinishedStartups: PendingStartup[] = [];
  private logger!: Logger;
  private lastConfig!: TownConfig;

  /** The control API's view of supervision (see src/api/server.ts). */
  readonly api: WorkApi = {
    status: () => ({
      tmux: { socket: this.socket },
      agents_updated_at: this.statusesAt,
      // Activity as of now, not as of the last pass: a hook event shows at once.
      agents: this.statuses.map((status) => ({
        ...status,
        activity: this.activity?.json(status.identity) ?? status.activity ?? null,
      })),
    }),
    submit: (body) => this.submit(body),
    events: (query) => this.queryEvents(query, undefined),
    eventsAfter: (query, afterId) => this.queryEvents(query, afterId),
  };

  constructor(options: SupervisorOptions) {
    this.paths = options.paths;
    this.clock = options.clock ?? daemonClock;
    this.heartbeatTimes = new HeartbeatTimes(this.clock);
    this.betweenNudgesMs = options.betweenNudgesMs ?? 2000;
    this.store = new StoreHandle(options.paths.storeFile);
    this.upkeep = new StoreUpkeep({
      store: this.store,
      paneEventsFile: this.paneEventsFile,
      // Retention compares with the wall-clock times stored with mail and requests.
      now: () => this.clock.wall(),
    });
  }

  private get statuslineDir(): string {
    return claudeSettingsPaths(this.paths.daemonDir).statuslineDir;
  }

  private get paneEventsFile(): string {
    return join(this.paths.daemonDir, "pane-events");
  }

  async start(context: WorkContext & { readonly trigger: (reason: string) => void }): Promise<void> {
    const { log, signal } = context;
    this.logger = log;
    this.lastConfig = context.config;
    this.trigger = context.trigger;
    // From the config the daemon already loaded: a broken settings file keeps its last good (or default) value.
    const setting = context.config.settings.tmux?.socket;
    const uid = process.getuid?.() ?? 0;
    const socket = resolveSocketPath(setting, this.paths.root, process.env, uid);
    this.socket = socket;
    const client = new TmuxClient({
      socket,
      socketDir: { policy: socketDirPolicy(setting), uid },
      persistent: true,
    });
    try {
      log.info({ socket }, `Using ${await client.version({ signal })} on socket ${socket}`);
    } catch (error) {
      throw new AppError("E_NO_TMUX", `Cannot supervise agents: ${errorMessage(error)}`, { cause: error });
    }
    this.activity = new ActivityTracker({
      client,
      classify: classifyScreen,
      now: this.clock.wall,
      onChange: (change) => {
        this.activityChanged(change);
      },
      statuslineWall: (agent, now) => {
        const generation = agent.observed.generation;
        if (generation === null || agent.profile?.name !== "claude") return null;
        const reading = readStatusline(this.statuslineDir, generation);
        return reading === null ? null : statuslineWall(reading, now);
      },
    });
    this.hooks = new HookActivity({
      file: claudeSettingsPaths(this.paths.daemonDir).eventsFile,
      tracker: this.activity,
      identityOf: (generation) => this.identityOfGeneration(generation),
      now: this.clock.now,
      onProblem: (message) => {
        log.warn(message);
      },
    });
    this.hooks.start();
    const journal = new StartupJournal(join(this.paths.daemonDir, "startups.json"));
    this.unfinishedStartups = journal.load();
    const nudger = new Nudger(client);
    const startups = new Startups({
      client: new ScreenBatcher(client),
      nudger,
      betweenNudgesMs: this.betweenNudgesMs,
      now: this.clock.wall,
      journal,
      onNotice: (notice) => {
        this.startupNotice(notice);
      },
      // The agent moves from "starting" to "running": observe it now, not at the next heartbeat.
      onDone: () => {
        this.trigger("start-up complete");
      },
    });
    const executor = new Executor({
      client,
      nudger,
      townRoot: this.paths.root,
      now: this.clock.now,
      startups,
    });
    const watch = new TmuxWatch({
      watch: this.deathWatch,
      snapshot: () => client.snapshot({ signal }),
      serverPid: () => client.lastServerPid,
      onNews: this.trigger,
    });
    this.parts = { client, executor, startups, watch };
    const { limits } = context.config.daemon;
    ({ records: this.records, town: this.town } = loadHistory(this.paths, this.clock, limits, log));
    this.upkeep.start(log, context.config.daemon.retention, () => {
      this.trigger("store file replaced");
    });
    ensureDaemonDir(this.paths);
    this.eventsWatcher = watchPaneEvents(this.paneEventsFile, log, () => {
      this.trigger("pane died");
    });
    // Sessions lost while no daemon ran (a reboot, a killed server) are not agent deaths either.
    // A connect probe, not a tmux command: a stuck server must not hang the start-up here.
    this.serverLostWhileDown = !(await serverListening(socket));
    await this.ensureServer(signal);
    // What the agents run now tells which of a dead daemon's claimed requests it had carried out.
    const panes = await client.snapshot({ signal }).catch((error: unknown) => {
      log.warn(`Cannot list the agents' panes: ${errorMessage(error)}`);
      return undefined;
    });
    this.settleInterruptedRequests(log, panes === undefined ? () => null : generationsIn(panes));
  }

  async pass(context: WorkContext & { reasons: readonly string[] }): Promise<{ wakeAt: number | null }> {
    const { config, log, signal } = context;
    this.lastConfig = config;
    const { client, executor, startups, watch } = this.need();
    let snapshot = await client.snapshot({ signal });
    if (snapshot.serverRunning && this.deathWatch.allGone(snapshot)) {
      // Every agent gone at once with the server still up is most likely a server mid-teardown: look again
      // before counting them as deaths (a mass death) rather than one lost server.
      await sleep(250, signal);
      snapshot = await client.snapshot({ signal });
    }
    const serverRestarted = !snapshot.serverRunning || this.serverLostWhileDown;
    this.serverLostWhileDown = false;
    if (serverRestarted) {
      log.warn("tmux server is not running; starting it");
      await this.ensureServer(signal);
      snapshot = await client.snapshot({ signal });
    }
    const polecats =
      this.store.use(log, "reading polecats' work", (db) => listPolecats(this.paths, config, db)) ??
      listPolecats(this.paths, config, undefined);
    const desired = desiredAgents(config, polecats);
    const now = this.clock.now();
    const wall = this.clock.wall();
    const operator = takeRequests(this.paths);
    for (const name of operator.invalid) log.warn(`Ignoring an invalid operator request file: ${name}`);
    const lifecycle = this.store.use(log, "reading lifecycle requests", (db) =>
      intakeLifecycle(db, {
        now: new Date(wall),
        maxAgeMs: config.daemon.maxLifecycleMessageAgeMs,
        agents: new Map(desired.map((agent) => [agent.identity, agent])),
        rate: {
          limit: config.daemon.lifecycleRequestRate,
          times: (identity) => (this.records.get(identity)?.requestTimes ?? []).map((t) => t + wall - now),
        },
      }),
    );
    for (const note of lifecycle?.notes ?? []) log.warn(note);
    this.records = countRequests(
      this.records,
      lifecycle?.requests ?? [],
      new Map(desired.map((agent) => [agent.identity, agent.session])),
      now,
      config.daemon.lifecycleRequestRate.windowMs,
    );

    const observed = await withStartProblems(
      observeAgents(snapshot, desired, (agent) => {
        try {
          return runtimeFor(agent.id, config);
        } catch {
          return { processNames: [], argv: [] };
        }
      }).map((agent) => this.withHeartbeat(agent, config)),
      this.records,
      config,
      client,
      now,
      signal,
    );
    startups.cancelStale(observed);
    this.resumeStartups(observed, config, log);
    const seen = observed.map((agent) => ({
      ...agent,
      activity: this.activity?.activity(agent.desired.identity)?.state,
    }));
    this.failedRestarts.running(observed.flatMap((a) => (a.verdict === "alive" ? [a.desired.identity] : [])));
    const viaApi = takeLive(this.apiQueue.splice(0), wall, log);
    const requests: ManualRequest[] = [
      ...operator.requests,
      ...viaApi.map((item) => item.request),
      ...(lifecycle?.requests ?? []),
    ];
    this.knownAgents = new Set(desired.map((agent) => agent.identity));
    const result = plan({
      now,
      agents: seen,
      records: this.records,
      town: this.town,
      limits: config.daemon.limits,
      requests,
      serverRestarted,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    this.recordDecisions(result.decisions, log);
    for (const alert of result.alerts) {
      log.error({ alert: alert.kind, agents: alert.identities }, `ALERT ${alert.kind}: ${alert.message}`);
      appendFeedEvent(this.paths.root, alert, new Date(wall), config.daemon.limits.massDeath.windowMs, log);
      this.notify(alert.kind, alert.message, alert.identities, config, log);
    }
    this.deathWatch.noteAlive(
      observed.flatMap((agent) =>
        agent.verdict === "alive" ? [[agent.desired.session, agent.pane?.command ?? ""] as const] : [],
      ),
      snapshot.serverRunning,
    );
    watch.arm(config.daemon.reapKickIntervalMs, config.daemon.deathPollIntervalMs);

    const byIdentity = new Map(desired.map((agent) => [agent.identity, agent]));
    // Each request is finished the moment its own action resolves, not when the whole pass does: a daemon
    // killed during a slow action elsewhere must not report an executed request as interrupted.
    const byRequest = new Map(
      requests.flatMap((r) => (r.requestId === undefined ? [] : [[r.requestId, r] as const])),
    );
    const results = await Promise.all(
      result.actions.flatMap((action) => {
        const agent = byIdentity.get(action.identity);
        if (agent === undefined) return [];
        const record = this.records.get(action.identity) ?? emptyRecord(action.identity, action.session);
        const requestId = action.requestId;
        // Recorded before tmux starts it: a daemon killed right after can still tell the request ran.
        const onGeneration =
          requestId === undefined || !byRequest.has(requestId)
            ? undefined
            : (generation: string): void => {
                this.store.use(log, "recording a request's generation", (db) => {
                  noteRequestGeneration(db, requestId, generation);
                });
              };
        return [
          executor.execute(action, agent, record, { ...context, onGeneration }).then((done) => {
            this.applyResult(done, log);
            if (
              !done.ok &&
              (done.action.kind === "spawn" || done.action.kind === "respawn") &&
              this.failedRestarts.first(done.action.identity)
            ) {
              const message = `Cannot ${done.action.kind} ${done.action.identity}: ${done.detail}`;
              this.notify("restart_failed", message, [done.action.identity], config, log);
            }
            const request =
              done.action.requestId === undefined ? undefined : byRequest.get(done.action.requestId);
            if (request !== undefined) {
              byRequest.delete(done.action.requestId ?? "");
              this.finishRequest(request, done.ok ? undefined : done.detail, result.decisions, log);
            }
            return done;
          }),
        ];
      }),
    );
    for (const request of byRequest.values()) this.finishRequest(request, undefined, result.decisions, log);
    operator.done();
    for (const item of viaApi)
      item.resolve(result.decisions.filter((d) => d.identity === item.request.identity));
    this.sendWorkNotices(polecats, observed, result.decisions, results, config, log);
    const lookAgain = await this.writeStatus(observed, result.decisions, config, signal);
    if (results.some((r) => r.action.kind !== "nudge")) this.trigger("verify actions");
    if (lifecycle?.more === true) this.trigger("more lifecycle requests");
    this.upkeep.afterPass(log, config.daemon.retention);
    return { wakeAt: earliest(result.wakeAt, lookAgain) };
  }

  stop(log: Logger): Promise<void> {
    this.eventsWatcher?.close();
    this.upkeep.stop();
    this.parts?.watch.stop();
    this.parts?.startups.stopAll();
    this.hooks?.stop();
    const notifiers = stopNotifiers();
    if (notifiers > 0) log.info(`Stopped ${notifiers} notify_command(s) still running`);
    this.store.close();
    log.info("Supervision stopped; agents keep running");
    return this.parts?.client.close() ?? Promise.resolve();
  }

  private need(): Parts {
    if (this.parts === undefined) throw new Error("Supervisor used before start()");
    return this.parts;
  }

  private async ensureServer(signal: AbortSignal): Promise<void> {
    await this.need().client.ensureServer({ paneDiedHook: paneDiedHook(this.paneEventsFile), signal });
  }

  /**
   * Requests a previous daemon claimed but never finished: recorded as done when the agent's generation
   * shows they were carried out, else reported as interrupted and not executed twice (I5).
   */
  private settleInterruptedRequests(log: Logger, generationOf: (identity: string) => string | null): void {
    this.store.use(log, "recovering interrupted requests", (db) => {
      const now = new Date(this.clock.wall());
      const { interrupted, carriedOut } = settleLeftoverClaims(db, generationOf, now);
      for (const request of carriedOut) {
        log.info(
          { agent: request.identity },
          `Lifecycle request ${request.id} (${request.action}) was ${request.detail}`,
        );
        recordEvent(
          db,
          {
            type: "lifecycle_done",
            identity: request.identity,
            reason: request.detail,
            data: { request: request.id },
          },
          now,
        );
      }
      for (const request of interrupted) {
        const why =
          "the daemon stopped between claiming and executing it; it was not executed, send it again";
        log.warn(
          { agent: request.identity },
          `Lifecycle request ${request.id} (${request.action}) interrupted: ${why}`,
        );
        recordEvent(
          db,
          {
            type: "lifecycle_interrupted",
            identity: request.identity,
            reason: why,
            data: { request: request.id },
          },
          now,
        );
        sendMail(
          db,
          fitMail({
            from: DAEMON_SENDER,
            to: replyAddress(request.requested_by),
            subject: `LIFECYCLE INTERRUPTED: ${request.identity} ${request.action}`,
            body: `Your lifecycle request ${request.id} was interrupted: ${why}`,
            type: "reply",
          }),
          now,
        );
      }
    });
  }

  /** Once, in the first pass: what an earlier daemon's start-ups left undone is done now. */
  private resumeStartups(observed: readonly ObservedAgent[], config: TownConfig, log: Logger): void {
    if (this.unfinishedStartups.length === 0) return;
    const pending = this.unfinishedStartups;
    this.unfinishedStartups = [];
    this.need().startups.resume(pending, observed, config, log);
  }

  /**
   * Dialogs answered are recorded; a dialog townd must not answer is an alert (once per dialog). The agent's
   * state changes with needs_human and needs_human_cleared: a pass shows it now, not at the next heartbeat.
   */
  private startupNotice(notice: StartupNotice): void {
    const log = this.logger;
    if (notice.type !== "dialog_answered") this.trigger(notice.type.replaceAll("_", " "));
    const data = {
      generation: notice.generation,
      ...(notice.screen === undefined ? {} : { screen: notice.screen }),
    };
    if (notice.type === "needs_human") {
      log.warn({ agent: notice.identity }, `${notice.identity}: ${notice.message}`);
      this.notify(
        "needs_human",
        `${notice.identity}: ${notice.message}`,
        [notice.identity],
        this.lastConfig,
        log,
        data,
      );
      return;
    }
    log.info({ agent: notice.identity }, `${notice.identity}: ${notice.message}`);
    this.event(log, {
      type: notice.type,
      identity: notice.identity,
      generation: notice.generation,
      reason: notice.message,
      data,
    });
  }

  private withHeartbeat(agent: ObservedAgent, config: TownConfig): ObservedAgent {
    const watchdog = config.daemon.watchdogs.get(agent.desired.id.role);
    if (watchdog === undefined) return agent;
    const file = heartbeatFile(this.paths, agent.desired.id.role, agent.desired.session);
    let problem: string | undefined;
    const heartbeatAt = this.heartbeatTimes.observe(
      file,
      readHeartbeat(file, (m) => (problem = m)),
    );
    if (problem !== undefined && this.heartbeatProblems.get(file) !== problem)
      this.logger.warn({ agent: agent.desired.identity }, `Heartbeat unusable, counted as none: ${problem}`);
    if (problem === undefined) this.heartbeatProblems.delete(file);
    else this.heartbeatProblems.set(file, problem);
    // Every hook event is a heartbeat of its generation; only the file arms the watchdog (B33).
    const hookBeat = this.hooks?.lastBeat(agent.desired.identity, agent.generation) ?? null;
    const latest =
      heartbeatAt === null ? hookBeat : hookBeat === null ? heartbeatAt : Math.max(heartbeatAt, hookBeat);
    return { ...agent, watchdog, heartbeatAt: latest, heartbeatFileSeen: heartbeatAt !== null };
  }

  /** The agent whose current generation this is: hook events of replaced generations are dropped. */
  private identityOfGeneration(generation: string): string | undefined {
    for (const record of this.records.values()) if (record.generation === generation) return record.identity;
    return undefined;
  }

  private applyResult(result: ActionResult, log: Logger): void {
    this.records.set(result.action.identity, result.record);
    const type = result.ok ? `${result.action.kind}_done` : `${result.action.kind}_failed`;
    if (result.action.kind === "nudge" && result.ok) return;
    this.event(log, {
      type,
      identity: result.action.identity,
      generation: result.generation ?? null,
      reason: result.ok ? result.action.reason : result.detail,
      data: result.lastLines === undefined ? {} : { last_lines: result.lastLines },
    });
  }

  /** A lifecycle request is done when its action succeeded (or none was needed), failed otherwise; never retried. */
  private finishRequest(
    request: ManualRequest,
    failure: string | undefined,
    decisions: readonly Decision[],
    log: Logger,
  ): void {
    const id = request.requestId;
    if (id === undefined) return;
    const decision = decisions.find((d) => d.requestId === id);
    const detail = failure ?? decision?.reason ?? "no action needed";
    const now = new Date(this.clock.wall());
    this.store.use(log, "finishing a lifecycle request", (db) => {
      finishRequest(db, id, failure === undefined ? "done" : "failed", detail, now);
      recordEvent(
        db,
        {
          type: failure === undefined ? "lifecycle_done" : "lifecycle_failed",
          identity: request.identity,
          reason: `${request.kind}: ${detail}`,
          data: { request: id },
        },
        now,
      );
    });
    const outcome = failure === undefined ? "done" : `failed: ${detail}`;
    log.info({ agent: request.identity }, `Lifecycle request ${id} (${request.kind}) ${outcome}`);
  }

  /** Logs and records every decision that changes something; repeated waits only when they change. */
  private recordDecisions(decisions: readonly Decision[], log: Logger): void {
    for (const decision of decisions) {
      const key = `${decision.action}:${decision.action === "wait" ? (decision.holdBy ?? "") : decision.reason}`;
      const changed = this.lastLogged.get(decision.identity) !== key;
      this.lastLogged.set(decision.identity, key);
      if (decision.action === "none" && decision.requestId === undefined && decision.requested !== true) {
        log.debug({ agent: decision.identity }, `${decision.identity}: ${decision.reason}`);
        continue;
      }
      if (!changed && decision.action === "wait") continue;
      log.info(
        { agent: decision.identity, verdict: decision.verdict, action: decision.action },
        `${decision.identity}: ${decision.action} (${decision.reason})`,
      );
      this.event(log, {
        type: "decision",
        identity: decision.identity,
        reason: decision.reason,
        data: {
          action: decision.action,
          verdict: decision.verdict,
          ...(decision.holdBy === undefined ? {} : { hold: decision.holdBy }),
        },
      });
    }
  }

  /** GUPP violations, orphaned work and failed polecat restarts go to the rig's Witness, once per episode. */
  private sendWorkNotices(
    polecats: readonly PolecatWork[],
    observed: readonly ObservedAgent[],
    decisions: readonly Decision[],
    results: readonly ActionResult[],
    config: TownConfig,
    log: Logger,
  ): void {
    const byIdentity = new Map(observed.map((agent) => [agent.desired.identity, agent]));
    const views: PolecatView[] = polecats.flatMap((polecat) => {
      const identity = formatIdentity({ role: "polecat", rig: polecat.rig, name: polecat.name });
      const agent = byIdentity.get(identity);
      if (agent === undefined) return [];
      const decision = decisions.find((d) => d.identity === identity);
      const failed = results.find((r) => r.action.identity === identity && !r.ok);
      const record = this.records.get(identity);
      const abandoned = !agent.desired.wanted || decision?.holdBy === "crash-loop";
      return [
        {
          ...polecat,
          identity,
          verdict: agent.verdict,
          abandoned,
          generation: record?.generation ?? null,
          spawnError: failed?.detail ?? null,
        },
      ];
    });
    const now = new Date(this.clock.wall());
    for (const notice of workNotices(views, now.getTime(), config.daemon.guppTimeoutMs)) {
      this.store.use(log, "sending a work notice", (db) => {
        db.transaction(() => {
          if (!firstNotice(db, notice.identity, notice.kind, notice.episode, now)) return;
          sendMail(
            db,
            fitMail({
              from: DAEMON_SENDER,
              to: notice.to,
              subject: notice.subject,
              body: notice.body,
              type: "notice",
            }),
            now,
          );
          recordEvent(
            db,
            { type: notice.kind.toLowerCase(), identity: notice.identity, reason: notice.subject },
            now,
          );
          log.warn({ agent: notice.identity }, `Notified ${notice.to}: ${notice.subject}`);
        })();
      });
    }
  }

  /**
   * Everything an operator must hear about (crash loop, mass death, an exhausted spawn budget, a failed
   * restart) is recorded as an event, mailed to the Mayor, and handed to notify_command if one is set.
   */
  private notify(
    type: string,
    message: string,
    agents: readonly string[],
    config: TownConfig,
    log: Logger,
    extra: Record<string, unknown> = {},
  ): void {
    const now = new Date(this.clock.wall());
    // An alert about one agent is that agent's event too, so `townd why AGENT` shows it.
    const identity = agents.length === 1 ? (agents[0] ?? null) : null;
    this.store.use(log, "recording an alert", (db) => {
      recordEvent(db, { type, identity, reason: message, data: { agents, ...extra } }, now);
      sendMail(
        db,
        fitMail({
          from: DAEMON_SENDER,
          to: "mayor",
          subject: `ALERT ${type}: ${message.slice(0, 120)}`,
          body: message,
          priority: "high",
          type: "alert",
        }),
        now,
      );
    });
    const command = config.daemon.notifyCommand;
    if (command !== null) {
      runNotifyCommand(command, { type, ts: now.toISOString(), message, agents, town: this.paths.root }, log);
    }
  }

  private event(log: Logger, event: Parameters<typeof recordEvent>[1]): void {
    this.store.use(log, "recording an event", (db) => {
      recordEvent(db, event, new Date(this.clock.wall()));
    });
  }

  /** Writes every agent's status (with its activity, read now); returns when a screen wants a second look. */
  private async writeStatus(
    observed: readonly ObservedAgent[],
    decisions: readonly Decision[],
    config: TownConfig,
    signal: AbortSignal,
  ): Promise<number | null> {
    const decisionOf = new Map<string, Decision>();
    for (const decision of decisions)
      if (decision.requestId === undefined || !decisionOf.has(decision.identity))
        decisionOf.set(decision.identity, decision);
    const { startups } = this.need();
    const toWall = -clockSkew(this.clock);
    const views = observed.map((agent) => {
      const identity = agent.desired.identity;
      const record = this.records.get(identity) ?? emptyRecord(identity, agent.desired.session);
      const blockedBy = startups.blockedBy(identity);
      const state = agentState(
        agent,
        decisionOf.get(identity),
        startups.isStarting(identity),
        record,
        blockedBy,
      );
      const detail =
        blockedBy ??
        failedStartDetail(record) ??
        (agent.verdict === "alive" && agent.watchdog !== undefined && !record.heartbeatSeen
          ? "no heartbeat yet"
          : null);
      return { agent, record, state, detail, profile: profileOf(agent, config) };
    });
    pruneStatuslines(
      this.statuslineDir,
      new Set(observed.flatMap((agent) => (agent.generation === null ? [] : [agent.generation]))),
    );
    const looked = await this.activity?.observe(
      views.map((v) => ({ observed: v.agent, state: v.state, detail: v.detail, profile: v.profile })),
      signal,
    );
    const statuses = views.map(({ agent, record, state, detail }) => {
      const identity = agent.desired.identity;
      const decision = decisionOf.get(identity);
      const held = decision?.action === "wait" && decision.holdBy !== "zombie-check" ? decision : undefined;
      return recordToStatus(shiftRecord(record, toWall), {
        role: agent.desired.id.role,
        rig: agent.desired.id.rig ?? null,
        state,
        detail,
        activity: this.activity?.json(identity) ?? null,
        session: this.hooks?.session(identity, agent.generation),
        pid: agent.pane !== undefined && !agent.pane.dead ? agent.pane.panePid : null,
        hold:
          held?.holdBy === undefined || held.until === undefined
            ? undefined
            : { by: held.holdBy, until: held.until + toWall },
      });
    });
    try {
      writeAgentsFile(this.paths, statuses, shiftTown(this.town, toWall), this.clock.wall());
      this.agentsWriteError = "";
    } catch (error) {
      // A full or read-only disk: keep supervising from memory, and say so once per distinct error.
      const message = `Cannot write ${this.paths.agentsFile}: ${fsErrorMessage(error)}`;
      if (message !== this.agentsWriteError) this.logger.error(`${message}; supervision goes on`);
      this.agentsWriteError = message;
    }
    this.statuses = statuses;
    this.statusesAt = new Date(this.clock.wall()).toISOString();
    return looked?.wakeAt ?? null;
  }

  /** Every change of an agent's activity is an event, with its evidence, for `events` and `why`. */
  private activityChanged(change: ActivityChange): void {
    const { to } = change;
    this.event(this.logger, {
      type: "activity",
      identity: change.identity,
      generation: change.generation,
      reason: `${change.from?.state ?? "unknown"} → ${to.state} (${to.source}): ${to.detail}`,
      data: { ...activityJson(to), from: change.from?.state ?? null },
    });
  }

  /** An operator request through the control API: answered with the decisions of the pass that took it. */
  private async submit(body: Record<string, unknown>): Promise<unknown> {
    const kind = body["kind"];
    const agent = body["agent"];
    if (kind !== "reset" && kind !== "restart" && kind !== "start") {
      throw new AppError("E_BAD_REQUEST", `Unknown operator request ${JSON.stringify(kind)}`);
    }
    if (typeof agent !== "string")
      throw new AppError("E_BAD_REQUEST", 'Body must name the agent: {"agent": "<identity>"}');
    const identity = formatIdentity(parseIdentity(agent));
    if (!this.knownAgents.has(identity)) {
      throw new AppError(
        "E_UNKNOWN_AGENT",
        `No supervised agent "${identity}" (agents: ${[...this.knownAgents].join(", ")})`,
      );
    }
    const deadline = requestDeadline(body, this.clock.wall());
    const decisions = await new Promise<Decision[]>((resolve) => {
      this.apiQueue.push({
        request: { identity, kind, reason: `townd ${kind === "start" ? "start-agent" : kind}` },
        resolve,
        ...deadline,
      });
      this.trigger(`operator ${kind}`);
    });
    return { agent: identity, kind, decisions };
  }

  private queryEvents(query: URLSearchParams, afterId: number | undefined): TownEvent[] {
    const agent = query.get("agent");
    const since = sinceParam(query.get("since"), this.clock.wall());
    const limit = Number(query.get("limit") ?? "1000");
    const filter = {
      ...(agent === null ? {} : { identity: formatIdentity(parseIdentity(agent)) }),
      ...(since === null ? {} : { since }),
      ...(afterId === undefined
        ? { limit: Number.isInteger(limit) && limit > 0 ? limit : 1000 }
        : { afterId }),
    };
    return this.store.use(this.logger, "reading events", (db) => listEvents(db, filter)) ?? [];
  }
}

/** `since` is an ISO time or a duration back from now ("1h"); anything else is a bad request. */
function sinceParam(value: string | null, now: number): string | null {
  if (value === null) return null;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)))
    return new Date(value).toISOString();
  try {
    return new Date(now - parseDuration(value)).toISOString();
  } catch {
    throw new AppError(
      "E_BAD_REQUEST",
      `Invalid since ${JSON.stringify(value)}: an ISO time or a duration like "1h"`,
    );
  }
}

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** The profile an agent's screen is read with; null when its runtime cannot be resolved. */
function profileOf(agent: ObservedAgent, config: TownConfig): RuntimeProfile | null {
  try {
    return runtimeProfile(runtimeFor(agent.desired.id, config).profile);
  } catch {
    return null;
  }
}
