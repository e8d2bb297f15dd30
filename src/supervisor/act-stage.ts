import type { Logger } from "../daemon/logger.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { Action, ManualRequest } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import { noteRequestGeneration } from "../store/lifecycle.js";
import type { TownConfig } from "../town/config.js";
import type { ActionResult, Executor } from "./executor.js";
import type { StoreHandle } from "./store-handle.js";

export interface ActDeps {
  readonly executor: Executor;
  readonly store: StoreHandle;
  /** The agent's record as it stands when its action starts. */
  readonly recordOf: (identity: string, session: string) => AgentRecord;
  /** Keeps an action's outcome (the record after it, its event). */
  readonly done: (result: ActionResult) => void;
  /** A request is finished when its own action resolves: done, or failed with why. */
  readonly finish: (request: ManualRequest, failure: string | undefined) => void;
}

export interface ActContext {
  readonly config: TownConfig;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/**
 * The act stage: every action of the pass at once, each through the executor. Each request is finished
 * the moment its own action resolves, not when the whole pass does: a daemon killed during a slow action
 * elsewhere must not report an executed request as interrupted. Requests no action carried out are
 * returned, to be finished with the planner's reason.
 */
export async function carryOut(
  actions: readonly Action[],
  agents: ReadonlyMap<string, DesiredAgent>,
  requests: readonly ManualRequest[],
  context: ActContext,
  deps: ActDeps,
): Promise<{ results: ActionResult[]; unanswered: ManualRequest[] }> {
  const { log } = context;
  const byRequest = new Map(
    requests.flatMap((r) => (r.requestId === undefined ? [] : [[r.requestId, r] as const])),
  );
  const results = await Promise.all(
    actions.flatMap((action) => {
      const agent = agents.get(action.identity);
      if (agent === undefined) return [];
      const record = deps.recordOf(action.identity, action.session);
      const requestId = action.requestId;
      // Recorded before tmux starts it: a daemon killed right after can still tell the request ran.
      const onGeneration =
        requestId === undefined || !byRequest.has(requestId)
          ? undefined
          : (generation: string): void => {
              deps.store.use(log, "recording a request's generation", (db) => {
                noteRequestGeneration(db, requestId, generation);
              });
            };
      return [
        deps.executor.execute(action, agent, record, { ...context, onGeneration }).then((done) => {
          deps.done(done);
          const request =
            done.action.requestId === undefined ? undefined : byRequest.get(done.action.requestId);
          if (request !== undefined) {
            byRequest.delete(done.action.requestId ?? "");
            deps.finish(request, done.ok ? undefined : done.detail);
          }
          return done;
        }),
      ];
    }),
  );
  return { results, unanswered: [...byRequest.values()] };
}
