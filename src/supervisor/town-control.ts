import type { Logger } from "../daemon/logger.js";
import {
  clearTownStopped,
  describeTownStopped,
  readTownStopped,
  writeTownStopped,
  type TownStopped,
} from "../daemon/town-stopped.js";
import type { Decision } from "../policy/plan.js";
import type { TownPaths } from "../town/paths.js";

/** What one pass needs to know about the town's stop, and how to answer those who wait for that pass. */
export interface TownPass {
  /** Why the town is stopped (for the planner's decisions); null when it is not. */
  readonly townStopped: string | null;
  /** `townd up` was asked for since the last pass. */
  readonly townStart: boolean;
  /** Answers the `down`/`up` calls this pass carried out, with its decisions. */
  settle(decisions: readonly Decision[]): void;
}

/**
 * `townd down` and `townd up` as the daemon sees them. The intent file is read as every pass plans. A `down`
 * writes it and queues its caller in one synchronous step, so the pass that first sees the town stopped is
 * the one that answers, with its kills. An `up` removes it and marks the next pass in one step too, so a pass
 * sees either the town stopped or the up, never the town merely gone from stopped (its held agents would
 * then wait for a start).
 */
export class TownControl {
  private upPending = false;
  private waiting: ((decisions: Decision[]) => void)[] = [];
  private readonly paths: TownPaths;
  private readonly wall: () => number;

  constructor(paths: TownPaths, wall: () => number) {
    this.paths = paths;
    this.wall = wall;
  }

  /** The intent, for `status`. */
  stopped(): TownStopped | null {
    return readTownStopped(this.paths);
  }

  /** Carries out `down` or `up` at the next pass; resolves with that pass's decisions. */
  request(kind: "down" | "up", log: Logger): Promise<Decision[]> {
    if (kind === "down") {
      const intent = writeTownStopped(this.paths, new Date(this.wall()));
      this.upPending = false;
      log.warn(`Town stopped (${describeTownStopped(intent)}): every agent is stopped and stays down`);
    } else {
      const was = clearTownStopped(this.paths);
      this.upPending = true;
      log.info(
        was ? "Town started ('townd up'): its agents start" : "'townd up': starting the town's agents",
      );
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  forPass(): TownPass {
    const intent = readTownStopped(this.paths);
    const townStart = this.upPending;
    this.upPending = false;
    const waiting = this.waiting;
    this.waiting = [];
    return {
      townStopped: intent === null ? null : describeTownStopped(intent),
      townStart,
      settle: (decisions) => {
        for (const resolve of waiting) resolve([...decisions]);
      },
    };
  }
}
