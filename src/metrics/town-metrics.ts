import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { readStatusline } from "../activity/hooks/statusline.js";
import type { TownEvent } from "../store/events.js";
import type { FeedUpdate, StatusDocument } from "../web/feed.js";
import { needsYou } from "../web/needs-you.js";
import { StatusChangeTracker } from "./status-changes.js";
import { UsageTracker } from "./usage.js";

/**
 * The town in Prometheus terms, on a registry of its own (never prom-client's global one: two daemons in a
 * process, or a test, must not share counters). Gauges are read from the statuses when scraped; counters
 * and histograms grow from the daemon's change feed (events and status changes) and from each pass.
 * Counters start at zero with the daemon, as Prometheus expects of a process's counters.
 */

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const PASS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Event types that finish a lifecycle request (`lifecycle_claimed` only starts one). */
const LIFECYCLE_RESULTS = new Set(["done", "failed", "interrupted", "rejected", "stale"]);

export interface TownMetricsOptions {
  status(): StatusDocument;
  /** daemon/statusline/: each Claude agent's statusline JSON, for tokens and cost. */
  readonly statuslineDir: string;
  readonly now?: () => number;
}

export class TownMetrics {
  readonly registry = new Registry();
  private readonly options: TownMetricsOptions;
  private readonly now: () => number;
  private readonly changes = new StatusChangeTracker();
  private readonly usage = new UsageTracker();

  private readonly agents: Gauge<"role" | "state">;
  private readonly activity: Gauge<"role" | "activity">;
  private readonly walled: Gauge<"limit">;
  private readonly wallResets: Gauge<"agent" | "role" | "limit">;
  private readonly needs: Gauge<"kind">;
  private readonly deaths: Counter<"role">;
  private readonly restarts: Counter<"role" | "kind">;
  private readonly respawnDelay: Histogram<"role">;
  private readonly startup: Histogram<"role">;
  private readonly pass: Histogram;
  private readonly lifecycle: Counter<"result">;
  private readonly alerts: Counter<"kind">;
  private readonly cost: Counter<"role">;
  private readonly tokens: Counter<"role" | "type">;

  constructor(options: TownMetricsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    this.agents = new Gauge({
      name: "townd_agents",
      help: "Agents by supervision state (running, starting, backoff, crash-loop, ...) and role",
      labelNames: ["role", "state"],
      registers,
    });
    this.activity = new Gauge({
      name: "townd_agents_activity",
      help: "Agents by activity (working, idle, awaiting-permission, rate-limited, ...) and role",
      labelNames: ["role", "activity"],
      registers,
    });
    this.walled = new Gauge({
      name: "townd_agents_walled",
      help: "Agents held at a usage-limit wall (activity rate-limited), by limit",
      labelNames: ["limit"],
      registers,
    });
    this.wallResets = new Gauge({
      name: "townd_agent_wall_reset_timestamp_seconds",
      help: "When a walled agent's usage limit resets (Unix time), where known",
      labelNames: ["agent", "role", "limit"],
      registers,
    });
    this.needs = new Gauge({
      name: "townd_needs_you",
      help: "Agents waiting on a person, by why (the dashboard's needs-you count)",
      labelNames: ["kind"],
      registers,
    });
    this.deaths = new Counter({
      name: "townd_agent_deaths_total",
      help: "Agent deaths the daemon counted",
      labelNames: ["role"],
      registers,
    });
    this.restarts = new Counter({
      name: "townd_agent_restarts_total",
      help: "Agent restarts: auto (restart policy) or manual (operator or lifecycle request)",
      labelNames: ["role", "kind"],
      registers,
    });
    this.respawnDelay = new Histogram({
      name: "townd_respawn_delay_seconds",
      help: "From an agent's death to the respawn that replaced it (backoff included)",
      labelNames: ["role"],
      buckets: SECONDS,
      registers,
    });
    this.startup = new Histogram({
      name: "townd_startup_seconds",
      help: "From an agent's spawn to ready (its start-up sequence done)",
      labelNames: ["role"],
      buckets: SECONDS,
      registers,
    });
    this.pass = new Histogram({
      name: "townd_pass_duration_seconds",
      help: "How long one reconcile pass took",
      buckets: PASS_SECONDS,
      registers,
    });
    this.lifecycle = new Counter({
      name: "townd_lifecycle_requests_total",
      help: "Lifecycle requests by result (done, failed, interrupted, rejected, stale)",
      labelNames: ["result"],
      registers,
    });
    this.alerts = new Counter({
      name: "townd_alerts_total",
      help: "Alerts raised (crash_loop, mass_death, failed_to_start, needs_human, ...), by kind",
      labelNames: ["kind"],
      registers,
    });
    this.cost = new Counter({
      name: "townd_agent_cost_usd_total",
      help: "What agents' sessions cost, in US dollars, as their statuslines report it",
      labelNames: ["role"],
      registers,
    });
    this.tokens = new Counter({
      name: "townd_agent_tokens_total",
      help: "Tokens agents' sessions used, as their statuslines report them, by type (input, output)",
      labelNames: ["role", "type"],
      registers,
    });
    processMetrics(registers);
  }

  /** One batch from the change feed. */
  observe(update: FeedUpdate): void {
    this.observeEvents(update.events);
    // Every role's counters exist from the start, at 0: a rate over them works before the first death.
    for (const { role } of update.status.agents) {
      this.deaths.inc({ role }, 0);
      for (const kind of ["auto", "manual"]) this.restarts.inc({ role, kind }, 0);
    }
    const changes = this.changes.observe(update.status.agents, this.now());
    for (const { role } of changes.deaths) this.deaths.inc({ role });
    for (const { role, kind, count } of changes.restarts) this.restarts.inc({ role, kind }, count);
    for (const { role, seconds } of changes.respawnSeconds) this.respawnDelay.observe({ role }, seconds);
    for (const { role, seconds } of changes.readySeconds) this.startup.observe({ role }, seconds);
  }

  observePass(seconds: number): void {
    this.pass.observe(seconds);
  }

  /** The Prometheus text exposition, with gauges and statusline counters read now. */
  async text(): Promise<string> {
    this.readGauges();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private observeEvents(events: readonly TownEvent[]): void {
    for (const event of events) {
      if (event.type.startsWith("lifecycle_")) {
        const result = event.type.slice("lifecycle_".length);
        if (LIFECYCLE_RESULTS.has(result)) this.lifecycle.inc({ result });
      }
      // Every alert is recorded by the supervisor's notify with the agents it is about (data.agents).
      else if (Array.isArray(event.data["agents"])) this.alerts.inc({ kind: event.type });
    }
  }

  private readGauges(): void {
    const status = this.options.status();
    const now = this.now();
    for (const gauge of [this.agents, this.activity, this.walled, this.wallResets, this.needs]) gauge.reset();
    const usage: Parameters<UsageTracker["update"]>[0][number][] = [];
    for (const agent of status.agents) {
      const { role } = agent;
      this.agents.inc({ role, state: agent.state });
      const activity = agent.activity ?? null;
      if (activity !== null) this.activity.inc({ role, activity: activity.state });
      if (activity?.state === "rate-limited") {
        const limit = activity.limit ?? "unknown";
        this.walled.inc({ limit });
        const resetsAt = activity.resets_at === null ? Number.NaN : Date.parse(activity.resets_at);
        if (!Number.isNaN(resetsAt))
          this.wallResets.set({ agent: agent.identity, role, limit }, resetsAt / 1000);
      }
      if (agent.generation !== null) {
        const reading = readStatusline(this.options.statuslineDir, agent.generation);
        usage.push({ generation: agent.generation, role, totals: reading });
      }
    }
    for (const need of needsYou(status.agents, now).needs) this.needs.inc({ kind: need.kind });
    for (const grew of this.usage.update(usage)) {
      if (grew.costUsd > 0) this.cost.inc({ role: grew.role }, grew.costUsd);
      if (grew.inputTokens > 0) this.tokens.inc({ role: grew.role, type: "input" }, grew.inputTokens);
      if (grew.outputTokens > 0) this.tokens.inc({ role: grew.role, type: "output" }, grew.outputTokens);
    }
  }
}

/**
 * The daemon process's CPU, memory and start time under the usual Prometheus names. Not prom-client's
 * default collector: its event-loop gauges print "Nan" between samples, which stricter parsers refuse.
 */
function processMetrics(registers: Registry[]): void {
  const startedAt = Date.now() / 1000 - process.uptime();
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time the daemon has spent, in seconds",
    registers,
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "The daemon's resident memory, in bytes",
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "process_start_time_seconds",
    help: "When the daemon started (Unix time)",
    registers,
    collect() {
      this.set(startedAt);
    },
  });
}
