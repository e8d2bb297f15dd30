import type { TraceEvent } from "./trace.js";

/** What a run says about walls and conduct (SimReport adds these). */
export interface ConductMetrics {
  /** Agents killed, or restarted before their wall lifted, while walled by a usage limit. */
  readonly wall_kills: number;
  /** Agents walled, once per agent and wall. */
  readonly walled: number;
  /** Of those, the ones whose wall lifted before the end of the run and who never worked again. */
  readonly walled_unwoken: number;
  /** Seconds from a wall's lift to the agent working again. */
  readonly wake_delay_p50_s: number | null;
  readonly wake_delay_p95_s: number | null;
  readonly wake_delay_max_s: number | null;
  /** Alerts raised, by kind (the planner's and conduct's). */
  readonly alerts_by_kind: Readonly<Record<string, number>>;
}

interface AgentWall {
  readonly key: string;
  readonly liftsAt: number;
}

/** Reads the metrics from a run's trace; `end` is when the run stopped. */
export function conductMetrics(trace: readonly TraceEvent[], end: number): ConductMetrics {
  const walls: { at: number; liftsAt: number }[] = [];
  const generation = new Map<string, string>();
  const state = new Map<string, string>();
  const walled = new Map<string, AgentWall>();
  const exitedWalled = new Map<string, AgentWall>();
  const episodes = new Set<string>();
  const delays: number[] = [];
  const alerts: Record<string, number> = {};
  let wallKills = 0;
  const current = (identity: string, gen: string): boolean => generation.get(identity) === gen;

  for (const event of trace) {
    switch (event.type) {
      case "wall":
        walls.push({ at: event.at, liftsAt: event.liftsAt });
        break;
      case "start": {
        const exited = exitedWalled.get(event.identity);
        if (exited !== undefined && !event.manual && event.at < exited.liftsAt) wallKills += 1;
        exitedWalled.delete(event.identity);
        generation.set(event.identity, event.generation);
        state.delete(event.identity);
        break;
      }
      case "activity": {
        if (!current(event.identity, event.generation)) break;
        state.set(event.identity, event.state);
        const wall = walled.get(event.identity);
        if (event.state === "rate-limited" && wall === undefined) {
          const index = walls.findLastIndex((w) => w.at <= event.at && event.at < w.liftsAt);
          const hit = walls[index];
          if (hit === undefined) break;
          const key = `${event.identity} ${index}`;
          episodes.add(key);
          walled.set(event.identity, { key, liftsAt: hit.liftsAt });
        } else if (event.state === "working" && wall !== undefined && event.at >= wall.liftsAt) {
          delays.push(event.at - wall.liftsAt);
          walled.delete(event.identity);
        }
        break;
      }
      case "kill":
        if (current(event.identity, event.generation) && state.get(event.identity) === "rate-limited")
          wallKills += 1;
        break;
      case "exit": {
        const wall = walled.get(event.identity);
        if (current(event.identity, event.generation) && state.get(event.identity) === "rate-limited" && wall)
          exitedWalled.set(event.identity, wall);
        break;
      }
      case "alert":
        alerts[event.kind] = (alerts[event.kind] ?? 0) + 1;
        break;
      case "pass":
      case "session-open":
      case "session-close":
      case "server-down":
      case "spawn-failed":
      case "hang":
      case "nudge":
      case "death-counted":
      case "wait":
      case "stall":
      case "stall-cured":
      case "conduct":
      case "rung":
        break;
    }
  }
  const unwoken = [...walled.values()].filter((wall) => wall.liftsAt <= end).length;
  const sorted = delays.sort((a, b) => a - b);
  return {
    wall_kills: wallKills,
    walled: episodes.size,
    walled_unwoken: unwoken,
    wake_delay_p50_s: seconds(percentile(sorted, 0.5)),
    wake_delay_p95_s: seconds(percentile(sorted, 0.95)),
    wake_delay_max_s: seconds(sorted[sorted.length - 1] ?? null),
    alerts_by_kind: alerts,
  };
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? null;
}

function seconds(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms / 100) / 10;
}
