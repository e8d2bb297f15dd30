import type { Logger } from "../daemon/logger.js";
import { intakeLifecycle, type Intake } from "../lifecycle/intake.js";
import { countRequests } from "../lifecycle/request-rate.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { AgentRecord } from "../policy/record.js";
import type { TownConfig } from "../town/config.js";
import type { TownPaths } from "../town/paths.js";
import { takeRequests, type TakenRequests } from "./operator-queue.js";
import type { StoreHandle } from "./store-handle.js";

export interface TakenIn {
  readonly operator: TakenRequests;
  /** Undefined when the store cannot be read this pass (the next one takes them). */
  readonly lifecycle: Intake | undefined;
  /** The records with each agent's new requests counted against its request rate (I3). */
  readonly records: Map<string, AgentRecord>;
}

/**
 * The intake stage: the operator's request files and the agents' lifecycle mail (stale, malformed,
 * unknown-agent and over-rate requests answered and dropped there), each taken once.
 */
export function takeIn(
  deps: { readonly paths: TownPaths; readonly store: StoreHandle },
  input: {
    readonly config: TownConfig;
    readonly desired: readonly DesiredAgent[];
    readonly records: Map<string, AgentRecord>;
    /** Daemon time, and the wall clock the store's times are in. */
    readonly now: number;
    readonly wall: number;
  },
  log: Logger,
): TakenIn {
  const { config, desired, now, wall } = input;
  const operator = takeRequests(deps.paths);
  for (const name of operator.invalid) log.warn(`Ignoring an invalid operator request file: ${name}`);
  const lifecycle = deps.store.use(log, "reading lifecycle requests", (db) =>
    intakeLifecycle(db, {
      now: new Date(wall),
      maxAgeMs: config.daemon.maxLifecycleMessageAgeMs,
      agents: new Map(desired.map((agent) => [agent.identity, agent])),
      rate: {
        limit: config.daemon.lifecycleRequestRate,
        times: (identity) => (input.records.get(identity)?.requestTimes ?? []).map((t) => t + wall - now),
      },
    }),
  );
  for (const note of lifecycle?.notes ?? []) log.warn(note);
  const records = countRequests(
    input.records,
    lifecycle?.requests ?? [],
    new Map(desired.map((agent) => [agent.identity, agent.session])),
    now,
    config.daemon.lifecycleRequestRate.windowMs,
  );
  return { operator, lifecycle, records };
}
