import { AppError } from "../errors.js";
import type { TownConfig } from "../town/config.js";
import type { PatrolConfig, SettingsFile } from "../town/schemas.js";
import { daemonSettings } from "../town/settings.js";

/** Largest town the simulator builds (the Deacon plus 1000 rigs). */
export const MAX_SIM_AGENTS = 2001;

export interface SimTown {
  readonly config: TownConfig;
  readonly rigs: readonly string[];
}

/**
 * A town of exactly `agents` patrol agents, in memory: the Deacon, then a witness and a refinery for each
 * of ceil((agents-1)/2) rigs. When agents-1 is odd, the last rig's refinery is left out of the refinery
 * patrol's `rigs` list, so it is known to the daemon but not wanted. Settings default to none at all, so the
 * planner runs with townd's real default limits.
 */
export function buildSimTown(agents: number, settings: SettingsFile = {}): SimTown {
  if (!Number.isInteger(agents) || agents < 1 || agents > MAX_SIM_AGENTS) {
    throw new AppError(
      "E_USAGE",
      `--agents must be a whole number from 1 to ${MAX_SIM_AGENTS}, not ${agents}`,
    );
  }
  const rigCount = Math.ceil((agents - 1) / 2);
  const width = Math.max(2, String(rigCount).length);
  const rigs = Array.from({ length: rigCount }, (_, i) => `rig${String(i + 1).padStart(width, "0")}`);
  const refineryRigs = (agents - 1) % 2 === 1 ? rigs.slice(0, -1) : undefined;
  const patrols: PatrolConfig | undefined =
    refineryRigs === undefined
      ? undefined
      : {
          type: "daemon-patrol-config",
          version: 1,
          patrols: { refinery: { enabled: true, rigs: refineryRigs } },
        };
  return {
    rigs,
    config: {
      settings,
      daemon: daemonSettings(settings),
      patrols,
      rigs: { version: 1, rigs: Object.fromEntries(rigs.map((rig) => [rig, {}])) },
      wisp: new Map(rigs.map((rig) => [rig, undefined])),
      rigSettings: new Map(rigs.map((rig) => [rig, undefined])),
    },
  };
}
