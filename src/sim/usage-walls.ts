/** The account's usage-limit walls over a run, declared by a scenario. */
export interface WallSpec {
  /** The first wall begins this long after the run starts, then one every `everyMs`. */
  readonly firstAtMs: number;
  readonly everyMs: number;
  /** How long each wall lasts, up to the reset it announces. */
  readonly durationMs: number;
  /** The wall really lifts up to this long after its announced reset (clocks differ); 0: on the dot. */
  readonly liftJitterMs: number;
  /** The wall lifts this long after its announced reset, before the jitter (a reset shown too early). */
  readonly liftLateMs?: number;
  /** Working agents hit it within this of its start, each on its next request. */
  readonly hitSpreadMs: number;
  /** The limit message shows its reset time; false: none is shown (townd retries at a slow cadence). */
  readonly resetShown?: boolean;
}

/** One wall: from `startAt`, announcing `resetsAt`, really lifting at `liftsAt`. */
export interface SimWall {
  readonly id: number;
  readonly startAt: number;
  readonly resetsAt: number | null;
  readonly liftsAt: number;
}

/**
 * Every wall of a run, drawn up front from the scenario's spec. An agent that hits a wall stays walled
 * (at the limit message, which does not go away by itself) until something is typed after it lifts.
 */
export class SimUsageWalls {
  readonly walls: readonly SimWall[];

  constructor(spec: WallSpec | undefined, start: number, end: number, random: () => number) {
    const walls: SimWall[] = [];
    if (spec !== undefined && spec.everyMs > 0) {
      for (let at = start + spec.firstAtMs; at < end; at += spec.everyMs) {
        const reset = at + spec.durationMs;
        walls.push({
          id: walls.length + 1,
          startAt: at,
          resetsAt: spec.resetShown === false ? null : reset,
          liftsAt: reset + (spec.liftLateMs ?? 0) + Math.round(random() * spec.liftJitterMs),
        });
      }
    }
    this.walls = walls;
  }

  /** The wall up at `now`, if any. */
  at(now: number): SimWall | undefined {
    return this.walls.find((wall) => wall.startAt <= now && now < wall.liftsAt);
  }
}
