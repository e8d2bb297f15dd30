import { join } from "node:path";
import { appendFileSync, mkdirSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { newGenerationId } from "../agents/env.js";
import type { PassWork, WorkContext } from "../daemon/daemon.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import { desiredAgents, type DesiredAgent } from "../policy/desired.js";
import { plan, type Action, type Alert, type Decision } from "../policy/plan.js";
import { EMPTY_TOWN_STATE, emptyRecord, type AgentRecord, type TownPolicyState } from "../policy/record.js";
import { noteSpawnFailed, noteSpawned } from "../policy/spawn-result.js";
import { killProcessTree } from "../proc/tree.js";
import { TmuxClient } from "../tmux/client.js";
import { escapeFormat, shellQuote, tmuxQuote } from "../tmux/format.js";
import { Nudger } from "../tmux/nudge.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import {
  readAgentsFile,
  recordToStatus,
  statusToRecord,
  townStateFromFile,
  writeAgentsFile,
  type AgentStatus,
} from "./agents-file.js";
import { heartbeatFile, readHeartbeatAt } from "./heartbeats.js";
import { takeRequests } from "./operator-queue.js";
import { DeathWatch } from "./death-poll.js";
import { observeAgents, type ObservedAgent } from "./observe.js";
import { runtimeFor, spawnSpec } from "./spawn-spec.js";
import { runStartup } from "./startup.js";
import { townTmuxSocket } from "./tmux-socket.js";
import { AppError } from "../errors.js";
import { formatDuration } from "../util/duration.js";

interface Startup {
  readonly generation: string;
  readonly controller: AbortController;
}

export interface SupervisorOptions {
  paths: TownPaths;
  /** Pause between the startup beacon and the propulsion nudge. */
  betweenNudgesMs?: number;
  now?: () => number;
}

/**
 * Keeps the town's patrol agents alive: each pass observes every session with one tmux call, asks the pure
 * planner what to do, and carries that out. Every spawn goes through the planner's restart policy (I3).
 */
export class Supervisor implements PassWork {
  private readonly paths: TownPaths;
  private readonly now: () => number;
  private readonly betweenNudgesMs: number;
  private client: TmuxClient | undefined;
  private nudger: Nudger | undefined;
  private records = new Map<string, AgentRecord>();
  private town: TownPolicyState = EMPTY_TOWN_STATE;
  private readonly startups = new Map<string, Startup>();
  private readonly lastLogged = new Map<string, string>();
  private eventsWatcher: FSWatcher | undefined;
  private trigger: (reason: string) => void = () => undefined;
  private readonly deathWatch = new DeathWatch();
  private pollTimer: NodeJS.Timeout | undefined;
  private pollIntervalMs = 0;

  constructor(options: SupervisorOptions) {
    this.paths = options.paths;
    this.now = options.now ?? Date.now;
    this.betweenNudgesMs = options.betweenNudgesMs ?? 2000;
  }

  private get eventsFile(): string {
    return join(this.paths.daemonDir, "pane-events");
  }

  async start(context: WorkContext & { readonly trigger: (reason: string) => void }): Promise<void> {
    this.trigger = context.trigger;
    const socket = townTmuxSocket(this.paths);
    this.client = new TmuxClient({ socket });
    this.nudger = new Nudger(this.client);
    try {
      const version = await this.client.version({ signal: context.signal });
      context.log.info({ socket }, `Using ${version} on socket ${socket}`);
    } catch (error) {
      throw new AppError("E_NO_TMUX", `Cannot supervise agents: ${errorMessage(error)}`, { cause: error });
    }
    try {
      const saved = readAgentsFile(this.paths);
      this.records = new Map(
        (saved?.agents ?? []).map((status) => [status.identity, statusToRecord(status)]),
      );
      this.town = townStateFromFile(saved);
    } catch (error) {
      context.log.error(`Starting with no agent history: ${errorMessage(error)}`);
    }
    // Deaths arrive from tmux's pane-died hook as lines appended to a file; any change triggers a pass.
    mkdirSync(this.paths.daemonDir, { recursive: true });
    writeFileSync(this.eventsFile, "", { flag: "a" });
    this.eventsWatcher = watch(this.eventsFile, { persistent: false }, () => {
      context.trigger("pane died");
    });
    await this.ensureServer(context.signal);
  }

  /** (Re)arms the safety-net poll when its interval changes, e.g. after a config reload. */
  private armPoll(intervalMs: number, signal: AbortSignal): void {
    if (intervalMs === this.pollIntervalMs) return;
    clearInterval(this.pollTimer);
    this.pollIntervalMs = intervalMs;
    if (intervalMs <= 0) return;
    let polling = false;
    this.pollTimer = setInterval(() => {
      if (polling || signal.aborted) return;
      polling = true;
      this.tmux()
        .snapshot({ signal })
        .then((snapshot) => {
          const news = this.deathWatch.news(snapshot);
          if (news !== undefined) this.trigger(news);
        })
        .catch(() => undefined)
        .finally(() => {
          polling = false;
        });
    }, intervalMs);
    this.pollTimer.unref();
  }

  /** The hook appends the dead session's name to the events file; names are townd's own, paths are quoted. */
  private paneDiedHook(): string {
    const shell = `echo '#{session_name}' >> ${escapeFormat(shellQuote(this.eventsFile))}`;
    return `run-shell -b ${tmuxQuote(shell)}`;
  }

  private async ensureServer(signal: AbortSignal): Promise<void> {
    await this.tmux().ensureServer({ paneDiedHook: this.paneDiedHook(), signal });
  }

  private tmux(): TmuxClient {
    if (this.client === undefined) throw new Error("Supervisor used before start()");
    return this.client;
  }

  async pass(context: WorkContext & { reasons: readonly string[] }): Promise<{ wakeAt: number | null }> {
    const { config, log, signal } = context;
    let snapshot = await this.tmux().snapshot({ signal });
    const serverRestarted = !snapshot.serverRunning;
    if (serverRestarted) {
      log.warn("tmux server is not running; starting it");
      await this.ensureServer(signal);
      snapshot = await this.tmux().snapshot({ signal });
    }
    const taken = takeRequests(this.paths);
    for (const name of taken.invalid) log.warn(`Ignoring an invalid operator request file: ${name}`);
    const desired = desiredAgents(config);
    const observed = observeAgents(snapshot, desired, (agent) => {
      try {
        return runtimeFor(agent.id, config);
      } catch {
        return { processNames: [], argv: [] };
      }
    }).map((agent) => this.withHeartbeat(agent, config));
    this.cancelStaleStartups(observed);
    const now = this.now();
    const result = plan({
      now,
      agents: observed,
      records: this.records,
      town: this.town,
      limits: config.daemon.limits,
      requests: taken.requests,
      serverRestarted,
    });
    this.records = new Map(result.records);
    this.town = result.town;
    this.logDecisions(result.decisions, log);
    for (const alert of result.alerts) this.raiseAlert(alert, log, config);
    this.deathWatch.noteAlive(
      observed.filter((agent) => agent.verdict === "alive").map((agent) => agent.desired.session),
      snapshot.serverRunning,
    );
    this.armPoll(config.daemon.deathPollIntervalMs, signal);
    await Promise.all(result.actions.map((action) => this.execute(action, context)));
    taken.done();
    this.writeStatus(observed, result.decisions);
    // Observe what was just started (its PID, whether it survived its first moments) right away.
    if (result.actions.some((a) => a.kind !== "nudge")) this.trigger("verify actions");
    return { wakeAt: result.wakeAt };
  }

  private withHeartbeat(agent: ObservedAgent, config: TownConfig): ObservedAgent {
    const watchdog = config.daemon.watchdogs.get(agent.desired.id.role);
    if (watchdog === undefined) return agent;
    const file = heartbeatFile(this.paths, agent.desired.id.role, agent.desired.session);
    return { ...agent, watchdog, heartbeatAt: readHeartbeatAt(file) };
  }

  /** Alerts go to the log and to the town's event feed (.events.jsonl, the reference's format §10.3). */
  private raiseAlert(alert: Alert, log: Logger, config: TownConfig): void {
    log.error({ alert: alert.kind, agents: alert.identities }, `ALERT ${alert.kind}: ${alert.message}`);
    const payload =
      alert.kind === "mass_death"
        ? {
            count: alert.identities.length,
            window: formatDuration(config.daemon.limits.massDeath.windowMs),
            sessions: alert.identities,
            message: alert.message,
          }
        : { agents: alert.identities, message: alert.message };
    const event = {
      ts: new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z"),
      source: "townd",
      type: alert.kind,
      actor: "daemon",
      payload,
      visibility: "feed",
    };
    try {
      appendFileSync(join(this.paths.root, ".events.jsonl"), `${JSON.stringify(event)}\n`);
    } catch (error) {
      log.error(`Cannot append to .events.jsonl: ${errorMessage(error)}`);
    }
  }

  async stop(log: Logger): Promise<void> {
    this.eventsWatcher?.close();
    clearInterval(this.pollTimer);
    for (const startup of this.startups.values()) startup.controller.abort(new Error("daemon stopping"));
    this.startups.clear();
    log.info("Supervision stopped; agents keep running");
    return Promise.resolve();
  }

  /** A start-up sequence belongs to one generation; once that generation is gone it must stop nudging. */
  private cancelStaleStartups(observed: readonly ObservedAgent[]): void {
    for (const agent of observed) {
      const startup = this.startups.get(agent.desired.identity);
      if (startup === undefined) continue;
      if (agent.verdict !== "alive" || agent.generation !== startup.generation) {
        startup.controller.abort(new Error("agent died during start-up"));
        this.startups.delete(agent.desired.identity);
      }
    }
  }

  private logDecisions(decisions: readonly Decision[], log: Logger): void {
    for (const decision of decisions) {
      const key = `${decision.action}:${decision.action === "wait" ? "" : decision.reason}`;
      const changed = this.lastLogged.get(decision.identity) !== key;
      this.lastLogged.set(decision.identity, key);
      if (decision.action === "none") {
        log.debug({ agent: decision.identity }, `${decision.identity}: ${decision.reason}`);
      } else if (changed || decision.action !== "wait") {
        log.info(
          { agent: decision.identity, verdict: decision.verdict, action: decision.action },
          `${decision.identity}: ${decision.action} (${decision.reason})`,
        );
      }
    }
  }

  private async execute(action: Action, context: WorkContext): Promise<void> {
    const { config, log, signal } = context;
    const desired = desiredAgents(config).find((agent) => agent.identity === action.identity);
    if (desired === undefined) return;
    const record = this.records.get(action.identity) ?? emptyRecord(action.identity, action.session);
    const client = this.tmux();
    try {
      if (action.kind === "nudge") {
        const nudger = this.nudger;
        // Not awaited: a nudge takes most of a second and must not hold up the pass (I8).
        nudger?.nudge(action.session, action.message, { signal }).then(
          () => {
            log.info({ agent: action.identity }, `Nudged ${action.identity}: ${action.reason}`);
          },
          (error: unknown) => {
            log.warn({ agent: action.identity }, `Cannot nudge ${action.identity}: ${errorMessage(error)}`);
          },
        );
        return;
      }
      if (action.kind === "kill") {
        await client.killSession(action.session, { signal });
        this.startups.get(action.identity)?.controller.abort(new Error("session killed"));
        this.records.set(action.identity, { ...record, lastReason: `killed: ${action.reason}` });
        log.info({ agent: action.identity }, `Killed session ${action.session}: ${action.reason}`);
        return;
      }
      const generation = newGenerationId(this.now(), Math.random);
      const spec = spawnSpec(desired.id, action.session, generation, config, this.paths.root);
      mkdirSync(spec.cwd, { recursive: true });
      if (action.kind === "respawn") {
        if (action.killTree) await this.killPaneTree(action.session, config, signal);
        await client.respawnPane(
          action.session,
          { cwd: spec.cwd, argv: spec.argv, env: spec.env, generation },
          { signal },
        );
      } else {
        await client.newSession(
          {
            name: action.session,
            cwd: spec.cwd,
            argv: spec.argv,
            env: spec.env,
            generation,
            identity: action.identity,
          },
          { signal },
        );
      }
      this.records.set(
        action.identity,
        noteSpawned(record, { generation, at: this.now(), reason: action.reason, manual: action.manual }),
      );
      log.info(
        { agent: action.identity, generation, runtime: spec.runtime.name },
        `Started ${action.identity} in session ${action.session} (generation ${generation}, ${spec.runtime.name}): ${action.reason}`,
      );
      this.beginStartup(desired, generation, spec.runtime, log);
    } catch (error) {
      if (signal.aborted) return;
      const message = errorMessage(error);
      this.records.set(
        action.identity,
        noteSpawnFailed(record, { at: this.now(), message }, config.daemon.restart),
      );
      log.error({ agent: action.identity }, `Cannot ${action.kind} ${action.identity}: ${message}`);
    }
  }

  private async killPaneTree(session: string, config: TownConfig, signal: AbortSignal): Promise<void> {
    const snapshot = await this.tmux().snapshot({ signal });
    const pane = snapshot.panes.find((p) => p.session === session);
    if (pane !== undefined && !pane.dead && pane.panePid > 1) {
      await killProcessTree(pane.panePid, { graceMs: config.daemon.killGracePeriodMs, signal });
    }
  }

  private beginStartup(
    agent: DesiredAgent,
    generation: string,
    runtime: ReturnType<typeof runtimeFor>,
    log: Logger,
  ): void {
    this.startups.get(agent.identity)?.controller.abort(new Error("replaced by a new generation"));
    const controller = new AbortController();
    this.startups.set(agent.identity, { generation, controller });
    const nudger = this.nudger;
    if (nudger === undefined) return;
    runStartup(
      { id: agent.id, identity: agent.identity, session: agent.session, runtime, topic: "patrol" },
      { client: this.tmux(), nudger, betweenNudgesMs: this.betweenNudgesMs, now: () => new Date(this.now()) },
      controller.signal,
    )
      .then(
        (outcome) => {
          if (outcome === "prompt-timeout") {
            log.warn(
              { agent: agent.identity },
              `${agent.identity}: no ready prompt within ${runtime.readyTimeoutMs / 1000}s; nudged anyway`,
            );
          } else {
            log.info({ agent: agent.identity, generation }, `${agent.identity}: start-up complete`);
          }
          // The agent's state moves from "starting" to "running": observe it now, not at the next heartbeat.
          this.trigger("start-up complete");
        },
        (error: unknown) => {
          if (!controller.signal.aborted) {
            log.warn(
              { agent: agent.identity },
              `${agent.identity}: start-up sequence failed: ${errorMessage(error)}`,
            );
          }
        },
      )
      .finally(() => {
        if (this.startups.get(agent.identity)?.generation === generation)
          this.startups.delete(agent.identity);
      });
  }

  private writeStatus(observed: readonly ObservedAgent[], decisions: readonly Decision[]): void {
    const decisionOf = new Map(decisions.map((d) => [d.identity, d]));
    const statuses: AgentStatus[] = observed.map((agent) => {
      const identity = agent.desired.identity;
      const record = this.records.get(identity) ?? emptyRecord(identity, agent.desired.session);
      const decision = decisionOf.get(identity);
      return recordToStatus(record, {
        role: agent.desired.id.role,
        rig: agent.desired.id.rig ?? null,
        state: stateOf(agent, decision, this.startups.has(identity), record),
        pid: agent.pane !== undefined && !agent.pane.dead ? agent.pane.panePid : null,
      });
    });
    writeAgentsFile(this.paths, statuses, this.town, this.now());
  }
}

function stateOf(
  agent: ObservedAgent,
  decision: Decision | undefined,
  starting: boolean,
  record: AgentRecord,
): string {
  if (decision?.action === "spawn" || decision?.action === "respawn") return "starting";
  if (agent.verdict === "alive" && decision?.verdict !== "hung") return starting ? "starting" : "running";
  if (decision?.holdBy === "crash-loop" || record.crashLoopSince !== null) return "crash-loop";
  if (decision?.action === "wait") return decision.holdBy === "zombie-check" ? "running" : "backoff";
  if (!agent.desired.wanted) return agent.desired.held ?? "stopped";
  return agent.verdict === "missing" ? "stopped" : "dead";
}
