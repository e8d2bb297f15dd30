import type { FSWatcher } from "node:fs";
import type { PassWork, WorkApi, WorkContext } from "../daemon/daemon.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import { desiredAgents } from "../policy/desired.js";
import type { ManualRequest } from "../policy/plan.js";
import { planWithHolds } from "../policy/holds.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { eventsFilter } from "./events-query.js";
import { generationsIn, settleInterruptedRequests } from "./request-records.js";
import { sendWorkNotices } from "./work-notices.js";
import { townPolecats } from "./polecats.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import { writeBootTriage } from "./boot-status.js";
import { Alerting } from "./alerting.js";
import { RecordStage } from "./record-stage.js";
import { DeathWatch } from "./death-poll.js";
import { wireParts, type Parts } from "./parts.js";
import type { ActivityChange } from "../activity/book.js";
import { actsAtOnce, conductActions, cycleRequests } from "../conduct/pass.js";
import { carryOut } from "./act-stage.js";
import { snapshotTown } from "./snapshot-stage.js";
import { takeIn } from "./intake-stage.js";
import { withConduct } from "./conduct-stage.js";
import { observeTown } from "./observe-stage.js";
import type { PendingStartup } from "./startup-journal.js";
import type { StartupNotice } from "./startups.js";
import { HeartbeatStage } from "./heartbeat-stage.js";
import { loadHistory } from "./persisted-times.js";
import { daemonClock, type DaemonClock } from "../util/monotonic-clock.js";
import { paneDiedHook } from "./pane-died-hook.js";
import { actingOn } from "./armed-book.js";
import { watchFreedTerminals } from "../tmux/pty-watch.js";
import type { ObservedAgent } from "./observe.js";
import { StoreHandle } from "./store-handle.js";
import { StoreUpkeep } from "./store-upkeep.js";
import { watchPaneEvents } from "./pane-events.js";
import { OperatorApi } from "./operator-api.js";
import { TownControl } from "./town-control.js";
import { connectTownTmux } from "./tmux-socket.js";
import type { ServerStart } from "../tmux/client.js";
import { bringUpServer } from "./server-startup.js";
import { ensureDaemonDir } from "../daemon/daemon-dir.js";
import { ChangeListeners } from "../util/change-listeners.js";

export interface SupervisorOptions {
  paths: TownPaths;
  /** Pause between the startup beacon and the propulsion nudge. */
  betweenNudgesMs?: number;
  /** Daemon time for deadlines, the wall clock for what others read (util/monotonic-clock.ts). */
  clock?: DaemonClock;
}

/**
 * Keeps the town's agents alive. Each pass observes every session with one tmux call, takes operator and
 * lifecycle requests, asks the pure planner what to do, has the executor carry it out, and records every
 * decision with its reason. Every spawn goes through the planner's restart policy (I3).
 */
export class Supervisor implements PassWork {
  private readonly paths: TownPaths;
  private readonly clock: DaemonClock;
  private readonly heartbeats: HeartbeatStage;
  private readonly betweenNudgesMs: number;
  private readonly store: StoreHandle;
  private readonly deathWatch = new DeathWatch();
  private parts: Parts | undefined;
  private records = new Map<string, AgentRecord>();
  private town: TownPolicyState = EMPTY_TOWN_STATE;
  private eventsWatcher: FSWatcher | undefined;
  /** Freed terminals (a pane's death): the moment to make up for a SIGCHLD tmux lost. */
  private ptyWatcher: FSWatcher | null = null;
  private trigger: (reason: string) => void = () => undefined;
  private readonly operatorApi: OperatorApi;
  /** Told of every recorded event and status rewrite (the dashboard's stream, the metrics). */
  private readonly changes = new ChangeListeners();
  private socket: string | null = null;
  private readonly upkeep: StoreUpkeep;
  private readonly townControl: TownControl;
  private readonly alerting: Alerting;
  private readonly record: RecordStage;
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
        activity: this.parts?.tracker.json(status.identity) ?? status.activity ?? null,
      })),
    }),
    submit: (body) => this.operatorApi.submit(body),
    events: (query) => this.record.events(eventsFilter(query, undefined, this.clock.wall()), this.logger),
    eventsAfter: (query, afterId) =>
      this.record.events(eventsFilter(query, afterId, this.clock.wall()), this.logger),
    onChange: (listener) => this.changes.subscribe(listener),
  };

  constructor(options: SupervisorOptions) {
    this.paths = options.paths;
    this.clock = options.clock ?? daemonClock;
    this.heartbeats = new HeartbeatStage(
      options.paths,
      this.clock,
      (identity, generation) => this.parts?.hooks.lastBeat(identity, generation) ?? null,
    );
    this.betweenNudgesMs = options.betweenNudgesMs ?? 2000;
    this.townControl = new TownControl(options.paths, () => this.clock.wall());
    this.operatorApi = new OperatorApi({
      townControl: this.townControl,
      wall: () => this.clock.wall(),
      logger: () => this.logger,
      trigger: (reason) => {
        this.trigger(reason);
      },
    });
    this.store = new StoreHandle(options.paths.storeFile);
    this.alerting = new Alerting(options.paths, this.store, this.clock);
    this.record = new RecordStage({
      store: this.store,
      clock: this.clock,
      changes: this.changes,
      alerting: this.alerting,
    });
    this.upkeep = new StoreUpkeep({
      store: this.store,
      paneEventsFile: this.paths.paneEventsFile,
      // Retention compares with the wall-clock times stored with mail and requests.
      now: () => this.clock.wall(),
    });
  }

  async start(context: WorkContext & { readonly trigger: (reason: string) => void }): Promise<void> {
    const { log, signal } = context;
    this.logger = log;
    this.lastConfig = context.config;
    this.trigger = context.trigger;
    const { client, socket, version } = await connectTownTmux(this.paths, context.config, log, signal);
    this.socket = socket;
    const wired = wireParts({
      paths: this.paths,
      clock: this.clock,
      client,
      version,
      deathWatch: this.deathWatch,
      betweenNudgesMs: this.betweenNudgesMs,
      signal,
      log,
      events: {
        trigger: (reason) => {
          this.trigger(reason);
        },
        activityChanged: (change) => {
          this.activityChanged(change);
        },
        startupNotice: (notice) => {
          this.startupNotice(notice);
        },
        identityOfGeneration: (generation) => this.identityOfGeneration(generation),
        config: () => this.lastConfig,
        logger: () => this.logger,
        changed: () => {
          this.changes.notify();
        },
      },
    });
    this.parts = wired.parts;
    this.unfinishedStartups = wired.unfinishedStartups;
    const { limits } = context.config.daemon;
    ({ records: this.records, town: this.town } = loadHistory(this.paths, this.clock, limits, log));
    this.upkeep.start(log, context.config.daemon.retention, () => {
      this.trigger("store file replaced");
    });
    ensureDaemonDir(this.paths);
    this.eventsWatcher = watchPaneEvents(this.paths.paneEventsFile, log, () => {
      this.trigger("pane died");
    });
    const { watch } = wired.parts;
    this.ptyWatcher = watchFreedTerminals(() => {
      watch.kickNow();
    });
    // Sessions lost while no daemon ran (a reboot, a killed server) are not agent deaths either.
    const server = await bringUpServer(
      { socket, ensureServer: (sig) => this.ensureServer(sig) },
      log,
      signal,
    );
    this.serverLostWhileDown = server.lostWhileDown;
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
    const parts = this.need();
    const { client, executor, watch, armed, tracker } = parts;
    const { snapshot, serverRestarted } = await snapshotTown(
      { client, deathWatch: this.deathWatch, ensureServer: (sig) => this.ensureServer(sig) },
      this.serverLostWhileDown,
      log,
      signal,
    );
    this.serverLostWhileDown = false;
    const polecats = townPolecats(this.paths, config, this.store, log);
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

    const observed = await observeTown(
      parts,
      this.heartbeats,
      { snapshot, serverRestarted, desired, records: this.records, config, now },
      log,
      signal,
    );
    this.resumeStartups(observed, config, log);
    const conduct = parts.conduct.plan(observed, this.records, config);
    const seen = observed.map((agent) =>
      withConduct(agent, tracker, conduct.agents.get(agent.desired.identity)),
    );
    this.alerting.running(observed.flatMap((a) => (a.verdict === "alive" ? [a.desired.identity] : [])));
    const viaApi = this.operatorApi.take(wall, log);
    const requests: ManualRequest[] = [
      ...operator.requests,
      ...viaApi.map((item) => item.request),
      ...(lifecycle?.requests ?? []),
      ...cycleRequests(conduct),
    ];
    this.operatorApi.know(desired.map((agent) => agent.identity));
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
    this.record.decisions(result.decisions, log);
    this.alerting.raise([...result.alerts, ...conduct.alerts], wall, config, log);
    this.deathWatch.noteAlive(
      observed.flatMap((agent) =>
        agent.verdict === "alive" ? [[agent.desired.session, agent.pane?.command ?? ""] as const] : [],
      ),
      snapshot.serverRunning,
    );
    watch.arm(config.daemon.reapKickIntervalMs, config.daemon.deathPollIntervalMs);

    const byIdentity = new Map(desired.map((agent) => [agent.identity, agent]));
    const acts = conductActions(conduct, result.decisions, byIdentity);
    this.record.conductActs(acts, log);
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
          this.records.set(done.action.identity, done.record);
          this.record.actionDone(done, log);
          this.alerting.actionDone(done, config, log);
        },
        finish: (request, failure) => {
          this.record.requestFinished(request, failure, result.decisions, log);
        },
      },
    );
    if (result.bootTriage !== null) {
      const line = writeBootTriage(this.paths, result, results, wall, this.clock.wall(), log);
      this.record.event(log, { type: "boot_triage", identity: "boot", reason: line });
    }
    for (const request of unanswered) this.record.requestFinished(request, undefined, result.decisions, log);
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
    const lookAgain = await parts.status.write({
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
    this.parts?.hooks.stop();
    await this.alerting.stop(log);
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

  private ensureServer(signal: AbortSignal): Promise<ServerStart> {
    return this.need().client.ensureServer({ paneDiedHook: paneDiedHook(this.paths.paneEventsFile), signal });
  }

  /** Once, in the first pass: what an earlier daemon's start-ups left undone is done now. */
  private resumeStartups(observed: readonly ObservedAgent[], config: TownConfig, log: Logger): void {
    if (this.unfinishedStartups.length === 0) return;
    const pending = this.unfinishedStartups;
    this.unfinishedStartups = [];
    this.need().startups.resume(pending, observed, config, log);
  }

  /** The agent's state changes with needs_human and needs_human_cleared: a pass shows it now. */
  private startupNotice(notice: StartupNotice): void {
    if (notice.type !== "dialog_answered") this.trigger(notice.type.replaceAll("_", " "));
    this.record.startupNotice(notice, this.lastConfig, this.logger);
  }

  /** The agent whose current generation this is: hook events of replaced generations are dropped. */
  private identityOfGeneration(generation: string): string | undefined {
    for (const record of this.records.values()) if (record.generation === generation) return record.identity;
    return undefined;
  }

  /** Every change of an agent's activity is recorded. */
  private activityChanged(change: ActivityChange): void {
    this.record.activityChanged(change, this.logger);
    // A wall or a permission prompt is acted on now (grouped, woken, approved by a rule), not at the next
    // heartbeat; other changes wait for the pass their timers ask for.
    if (actsAtOnce(change)) this.trigger(`activity ${change.to.state}`);
  }
}

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
