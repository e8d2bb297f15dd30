import type { Logger } from "../daemon/logger.js";
import { AppError } from "../errors.js";
import type { Decision } from "../policy/plan.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import { requestDeadline, takeLive, type ApiQueued } from "./api-deadline.js";
import type { TownControl } from "./town-control.js";

export interface OperatorApiOptions {
  readonly townControl: TownControl;
  readonly wall: () => number;
  readonly logger: () => Logger;
  /** Asks for a pass now: the request is answered with that pass's decisions. */
  readonly trigger: (reason: string) => void;
}

/**
 * Operator requests through the control API (`down`, `up`, and `reset`/`restart`/`start`/`stop` of one
 * agent). Each waits for the pass that takes it and is answered with that pass's decisions about its agent.
 */
export class OperatorApi {
  private readonly queue: ApiQueued[] = [];
  private knownAgents = new Set<string>();
  private readonly options: OperatorApiOptions;

  constructor(options: OperatorApiOptions) {
    this.options = options;
  }

  /** The agents requests may name: those the last pass supervised. */
  know(identities: Iterable<string>): void {
    this.knownAgents = new Set(identities);
  }

  /** The queued requests whose callers still wait (a pass takes them all; expired ones are dropped). */
  take(wall: number, log: Logger): ApiQueued[] {
    return takeLive(this.queue.splice(0), wall, log);
  }

  async submit(body: Record<string, unknown>): Promise<unknown> {
    const { townControl, trigger } = this.options;
    const kind = body["kind"];
    const agent = body["agent"];
    if (kind === "down" || kind === "up") {
      const decisions = townControl.request(kind, this.options.logger());
      trigger(`town ${kind}`);
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
    const deadline = requestDeadline(body, this.options.wall());
    const decisions = await new Promise<Decision[]>((resolve) => {
      this.queue.push({
        request: {
          identity,
          kind,
          reason: `townd ${kind === "start" || kind === "stop" ? `${kind}-agent` : kind}`,
        },
        resolve,
        ...deadline,
      });
      trigger(`operator ${kind}`);
    });
    return { agent: identity, kind, decisions };
  }
}
