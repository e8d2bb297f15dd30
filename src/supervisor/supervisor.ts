import type { FSWatcher } from "node:fs";
import { serverListening } from "../tmux/server-probe.js";
import { join } from "node:path";
import type { PassWork, WorkApi, WorkContext } from "../daemon/daemon.js";
import type { Logger } from "../daemon/logger.js";
import { AppError, errorMessage } from "../errors.js";
import { DAEMON_SENDER } from "../lifecycle/intake.js";
import { desiredAgents } from "../policy/desired.js";
import type { Decision, ManualRequest } from "../policy/plan.js";
import { planWithHolds } from "../policy/holds.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { listEvents, recordEvent, type EventFilter, type TownEvent } from "../store/events.js";
import { DecisionLog } from "./decision-log.js";
import { eventsFilter } from "./events-query.js";
import { finishRequest as finishStoredRequest, settleInterruptedRequests } from "./request-records.js";
import { sendWorkNotices } from "./work-notices.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import { listPolecats } from "./polecats.js";
import { fitMail, sendMail } from "../store/mail.js";
import { TmuxClient } from "../tmux/client.js";
import { ScreenBatcher } from "../tmux/screen-batch.js";
import { Nudger } from "../tmux/nudge.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import { appendFeedEvent } from "./alerts.js";
import { writeBootTriage } from "./boot-status.js";
import { runNotifyCommand, stopNotifiers } from "./notify.js";
import { WebhookNotifier } from "./webhook.js";
import { FailedRestartEpisodes } from "./alert-episodes.js";
import { DeathWatch } from "./death-poll.js";
import { TmuxWatch } from "./tmux-watch.js";
import type { TmuxSnapshot } from "../tmux/types.js";
import { Executor, type ActionResult } from "./executor.js";
import type { ActivityChange } from "../activity/book.js";
import { activityJson } from "../activity/state.js";
import { ActivityTracker } from "./activity-tracker.js";
import { claudeSettingsPaths } from "../activity/hooks/settings-file.js";
import { readStatusline, statuslineWall } from "../activity/hooks/statusline.js";
import { HookActivity } from "./hook-activity.js";
import { actsAtOnce, conductActions, conductData, cycleRequests } from "../conduct/pass.js";
import { profileOf, StatusStage } from "./status-stage.js";
import { carryOut } from "./act-stage.js";
import { snapshotTown } from "./snapshot-stage.js";
import { takeIn } from "./intake-stage.js";
import { ConductStage, withConduct } from "./conduct-stage.js";
import { classifyScreen } from "../activity/classify.js";
import { withStartProblems } from "./start-checks.js";
import { StartupJournal, type PendingStartup } from "./startup-journal.js";
import { Startups, type StartupNotice } from "./startups.js";
import { heartbeatFile, readHeartbeat } from "./heartbeats.js";
import { HeartbeatTimes } from "./heartbeat-times.js";
import { loadHistory } from "./persisted-times.js";
import { daemonClock, type DaemonClock } from "../util/monotonic-clock.js";
import { paneDiedHook } from "./pane-died-hook.js";
import { ArmedRespawns, supportsArmedHooks } from "./armed-respawns.js";
import { actingOn } from "./armed-book.js";
import { watchFreedTerminals } from "../tmux/pty-watch.js";
import { observeAgents, type ObservedAgent } from "./observe.js";
import { runtimeFor } from "./spawn-spec.js";
import { StoreHandle } from "./store-handle.js";
import { StoreUpkeep } from "./store-upkeep.js";
import { watchPaneEvents } from "./pane-events.js";
import { requestDeadline, takeLive, type ApiQueued } from "./api-deadline.js";
import { TownControl } from "./town-control.js";
import { resolveSocketPath } from "../tmux/socket.js";
import { socketDirPolicy } from "../tmux/socket-dir.js";
import { ensureDaemonDir } from "../daemon/daemon-dir.js";
import { ChangeListeners } from "../util/change-listeners.js";

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
  readonly tracker: ActivityTracker;
  readonly conduct: ConductStage;
  readonly status: StatusStage;
  /** Pre-armed respawns; null when this tmux cannot run them (before 3.2). */
  readonly armed: ArmedRespawns | null;
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
  private readonly decisionLog = new DecisionLog();
  /** The last problem logged per heartbeat file, so a bad file is reported once, not every pass. */
  private readonly heartbeatProblems = new Map<string, string>();
  private parts: Parts | undefined;
  private records = new Map<string, AgentRecord>();
  private town: TownPolicyState = EMPTY_TOWN_STATE;
  private eventsWatcher: FSWatcher | undefined;
  /** Freed terminals (a pane's death): the moment to make up for a SIGCHLD tmux lost. */
  private ptyWatcher: FSWatcher | null = null;
  private trigger: (reason: string) => void = () => undefined;
  private activity: ActivityTracker | undefined;
  private hooks: HookActivity | undefined;
  private knownAgents = new Set<string>();
  private readonly apiQueue: ApiQueued[] = [];
  /** Told of every recorded event and status rewrite (the dashboard's stream, the metrics). */
  private readonly changes = new ChangeListeners();
  private socket: string | null = null;
  private readonly upkeep: StoreUpkeep;
  private readonly townControl: TownControl;
  private readonly webhooks = new WebhookNotifier();
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
      town_stopped: this.townControl.stopped(),
      agents_updated_at: this.parts?.status.statusesAt ?? null,
      // Activity as of now, not as of the last pass: a hook event shows at once.
      agents: (this.parts?.status.statuses ?? []).map((status) => ({
        ...status,
        activity: this.activity?.json(status.identity) ?? status.activity ?? null,
      })),
    }),
    submit: (body) => this.submit(body),
    events: (query) => this.queryEvents(eventsFilter(query, undefined, this.clock.wall())),
    eventsAfter: (query, afterId) => this.queryEvents(eventsFilter(query, afterId, this.clock.wall())),
    onChange: (listener) => this.changes.subscribe(listener),
  };

  constructor(options: SupervisorOptions) {
    this.paths = options.paths;
    this.clock = options.clock ?? daemonClock;
    this.heartbeatTimes = new HeartbeatTimes(this.clock);
    this.betweenNudgesMs = options.betweenNudgesMs ?? 2000;
    this.townControl = new TownControl(options.paths, () => this.clock.wall());
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
    let version: string;
    try {
      version = await client.version({ signal });
      log.info({ socket }, `Using ${version} on socket ${socket}`);
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
    const conduct = new ConductStage({
      tracker: this.activity,
      hooks: this.hooks,
      statuslineDir: this.statuslineDir,
      clock: this.clock,
      profileOf: (agent) => profileOf(agent, this.lastConfig)?.name ?? null,
      isStarting: (identity) => startups.isStarting(identity),
    });
    const status = new StatusStage({
      paths: this.paths,
      clock: this.clock,
      startups,
      conduct,
      tracker: this.activity,
      hooks: this.hooks,
      statuslineDir: this.statuslineDir,
      logger: () => this.logger,
      changed: () => {
        this.changes.notify();
      },
    });
    const armed = supportsArmedHooks(version)
      ? new ArmedRespawns({
          client,
          townRoot: this.paths.root,
          wake: paneDiedHook(this.paneEventsFile),
          now: this.clock.now,
          isStarting: (identity) => startups.isStarting(identity),
        })
      : null;
    if (armed === null)
      log.info(`${version} cannot arm respawns (pane hooks need tmux 3.2): every death waits for a pass`);
    this.parts = { client, executor, startups, watch, tracker: this.activity, conduct, status, armed };
    const { limits } = context.config.daemon;
    ({ records: this.records, town: this.town } = loadHistory(this.paths, this.clock, limits, log));
    this.upkeep.start(log, context.config.daemon.retention, () => {
      this.trigger("store file replaced");
    });
    ensureDaemonDir(this.paths);
    this.eventsWatcher = watchPaneEvents(this.paneEventsFile, log, () => {
      this.trigger("pane died");
    });
    this.ptyWatcher = watchFreedTerminals(() => {
      watch.kickNow();
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
    const generationOf = panes === undefined ? () => null : generationsIn(panes);
    if (panes !== undefined)
      await this.need()
        .armed?.reset([...new Set(panes.panes.map((pane) => pane.session))], signal)
        .catch((error: unknown) => {
          log.warn(`Cannot take down armed respawn hooks: ${errorMessage(error)}`);
        });
    settleInterruptedRequests(this.store, log, generationOf, new Date(this.clock.wall()));
  }

  async pass(context: WorkContext & { reasons: readonly string[] }): Promise<{ wakeAt: number | null }> {
    const { config, log, signal } = context;
    this.lastConfig = config;
    const { client, executor, startups, watch } = this.need();
    const { snapshot, serverRestarted } = await snapshotTown(
      { client, deathWatch: this.deathWatch, ensureServer: (sig) => this.ensureServer(sig) },
      this.serverLostWhileDown,
      log,
      signal,
    );
    this.serverLostWhileDown = false;
    const polecats =
      this.store.use(log, "reading polecats' work", (db) => listPolecats(this.paths, config, db)) ??
      listPolecats(this.paths, config, undefined);
    const desired = desiredAgents(config, polecats);
    const now = this.clock.now();
    const wall = this.clock.wall();
    const taken = takeIn(
      { paths: this.paths, store: this.store },
      { config, desired, records: this.records, now, wall },
      log,
    );
    const { operator, lifecycle } = taken;
    this.records = taken.records;

    let observed = await withStartProblems(
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
    const armed = this.need().armed;
    // A new tmux server has none of the old one's hooks, and counts from 0.
    if (serverRestarted) armed?.serverLost();
    if (armed !== null) observed = await armed.fired(observed, this.records, signal);
    this.resumeStartups(observed, config, log);
    const conduct = this.need().conduct.plan(observed, this.records, config);
    const seen = observed.map((agent) =>
      withConduct(agent, this.need().tracker, conduct.agents.get(agent.desired.identity)),
    );
    this.failedRestarts.running(observed.flatMap((a) => (a.verdict === "alive" ? [a.desired.identity] : [])));
    const viaApi = takeLive(this.apiQueue.splice(0), wall, log);
    const requests: ManualRequest[] = [
      ...operator.requests,
      ...viaApi.map((item) => item.request),
      ...(lifecycle?.requests ?? []),
      ...cycleRequests(conduct),
    ];
    this.knownAgents = new Set(desired.map((agent) => agent.identity));
    const townPass = this.townControl.forPass();
    const result = planWithHolds({
      now,
      agents: seen,
      records: this.records,
      town: this.town,
      limits: config.daemon.limits,
      requests,
      serverRestarted,
      townStopped: townPass.townStopped,
      townStart: townPass.townStart,
      boot: {
        degraded: process.env["GT_DEGRADED"] === "true",
        cooldownMs: config.daemon.bootSpawnCooldownMs,
      },
    });
    this.records = new Map(result.records);
    this.town = result.town;
    this.decisionLog.record(result.decisions, log, (event) => {
      this.event(log, event);
    });
    for (const alert of [...result.alerts, ...conduct.alerts]) {
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
    const acts = conductActions(conduct, result.decisions, byIdentity);
    for (const act of acts)
      this.event(log, {
        type: "conduct",
        identity: act.identity,
        reason: act.reason,
        data: conductData(act),
      });
    // tmux must not answer a death the daemon is about to answer (or cause) itself.
    await armed?.disarm(actingOn(result.actions), log, signal);
    const { results, unanswered } = await carryOut(
      [...result.actions, ...acts],
      byIdentity,
      requests,
      context,
      {
        executor,
        store: this.store,
        recordOf: (identity, session) => this.records.get(identity) ?? emptyRecord(identity, session),
        done: (done) => {
          this.applyResult(done, log);
          const restart = done.action.kind === "spawn" || done.action.kind === "respawn";
          if (!done.ok && restart && this.failedRestarts.first(done.action.identity)) {
            const message = `Cannot ${done.action.kind} ${done.action.identity}: ${done.detail}`;
            this.notify("restart_failed", message, [done.action.identity], config, log);
          }
        },
        finish: (request, failure) => {
          this.finishRequest(request, failure, result.decisions, log);
        },
      },
    );
    if (result.bootTriage !== null) {
      const line = writeBootTriage(this.paths, result, results, wall, this.clock.wall(), log);
      this.event(log, { type: "boot_triage", identity: "boot", reason: line });
    }
    for (const request of unanswered) this.finishRequest(request, undefined, result.decisions, log);
    operator.done();
    for (const item of viaApi)
      item.resolve(result.decisions.filter((d) => d.identity === item.request.identity));
    townPass.settle(result.decisions);
    sendWorkNotices(this.store, log, {
      polecats,
      observed,
      decisions: result.decisions,
      results,
      records: this.records,
      guppTimeoutMs: config.daemon.guppTimeoutMs,
      now: new Date(this.clock.wall()),
    });
    const armWake = await armed
      ?.afterPass({
        observed: seen,
        decisions: result.decisions,
        records: this.records,
        town: this.town,
        serverRestarted,
        agents: byIdentity,
        config,
        log,
        signal,
      })
      .catch((error: unknown) => {
        if (!signal.aborted) log.warn(`Cannot arm respawns: ${errorMessage(error)}`);
        return null;
      });
    const lookAgain = await this.need().status.write({
      observed,
      decisions: result.decisions,
      records: this.records,
      town: this.town,
      config,
      signal,
    });
    if (results.some((r) => r.action.kind !== "nudge")) this.trigger("verify actions");
    if (lifecycle?.more === true) this.trigger("more lifecycle requests");
    this.upkeep.afterPass(log, config.daemon.retention);
    const wakeAt = earliest(earliest(result.wakeAt, conduct.wakeAt), lookAgain);
    return { wakeAt: earliest(wakeAt, armWake ?? null) };
  }

  async stop(log: Logger): Promise<void> {
    this.eventsWatcher?.close();
    this.ptyWatcher?.close();
    this.upkeep.stop();
    this.parts?.watch.stop();
    this.parts?.startups.stopAll();
    this.hooks?.stop();
    const notifiers = stopNotifiers();
    if (notifiers > 0) log.info(`Stopped ${notifiers} notify_command(s) still running`);
    const webhooks = await this.webhooks.stop();
    if (webhooks > 0) log.info(`Aborted ${webhooks} notify_webhook delivery(ies) still under way`);
    this.store.close();
    // Nothing may respawn while no daemon supervises.
    await this.parts?.armed?.disarmAll(AbortSignal.timeout(2000)).catch((error: unknown) => {
      log.warn(`Cannot take down armed respawn hooks: ${errorMessage(error)}`);
    });
    log.info("Supervision stopped; agents keep running");
    await this.parts?.client.close();
  }

  private need(): Parts {
    if (this.parts === undefined) throw new Error("Supervisor used before start()");
    return this.parts;
  }

  private async ensureServer(signal: AbortSignal): Promise<void> {
    await this.need().client.ensureServer({ paneDiedHook: paneDiedHook(this.paneEventsFile), signal });
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

  /**
   * Everything an operator must hear about (crash loop, mass death, an exhausted spawn budget, a failed
   * restart) is recorded as an event, mailed to the Mayor, and handed to notify_command and notify_webhook.
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
    const alert = { type, ts: now.toISOString(), message, agents, town: this.paths.root };
    const command = config.daemon.notifyCommand;
    if (command !== null) runNotifyCommand(command, alert, log);
    const webhook = config.daemon.notifyWebhook;
    if (webhook !== null) this.webhooks.send(webhook, alert, log);
  }

  private finishRequest(
    request: ManualRequest,
    failure: string | undefined,
    decisions: readonly Decision[],
    log: Logger,
  ): void {
    finishStoredRequest(this.store, log, request, failure, decisions, new Date(this.clock.wall()));
  }

  private queryEvents(filter: EventFilter): TownEvent[] {
    return this.store.use(this.logger, "reading events", (db) => listEvents(db, filter)) ?? [];
  }

  private event(log: Logger, event: Parameters<typeof recordEvent>[1]): void {
    this.store.use(log, "recording an event", (db) => {
      recordEvent(db, event, new Date(this.clock.wall()));
    });
    this.changes.notify();
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
    // A wall or a permission prompt is acted on now (grouped, woken, approved by a rule), not at the next
    // heartbeat; other changes wait for the pass their timers ask for.
    if (actsAtOnce(change)) this.trigger(`activity ${to.state}`);
  }

  /** An operator request through the control API: answered with the decisions of the pass that took it. */
  private async submit(body: Record<string, unknown>): Promise<unknown> {
    const kind = body["kind"];
    const agent = body["agent"];
    if (kind === "down" || kind === "up") {
      const decisions = this.townControl.request(kind, this.logger);
      this.trigger(`town ${kind}`);
      return { kind, decisions: await decisions };
    }
    if (kind !== "reset" && kind !== "restart" && kind !== "start" && kind !== "stop") {
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
        request: {
          identity,
          kind,
          reason: `townd ${kind === "start" || kind === "stop" ? `${kind}-agent` : kind}`,
        },
        resolve,
        ...deadline,
      });
      this.trigger(`operator ${kind}`);
    });
    return { agent: identity, kind, decisions };
  }
}

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
