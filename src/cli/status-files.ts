import { isZeroTime, readState } from "../daemon/state-file.js";
import { readTownStopped } from "../daemon/town-stopped.js";
import { errorMessage } from "../errors.js";
import { readAgentsFile } from "../supervisor/agents-file.js";
import { townTmuxSocket } from "../supervisor/tmux-socket.js";
import type { TownPaths } from "../town/paths.js";
import type { StatusDocument } from "./status.js";

/** The status document from the town's files, for when the daemon is not running (or does not answer). */
export function statusFromFiles(paths: TownPaths, running: boolean, pid: number | undefined): StatusDocument {
  const problems: string[] = [];
  let state;
  try {
    state = readState(paths);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  const time = (value: string | undefined): string | null =>
    value === undefined || isZeroTime(value) ? null : value;
  let socket: string | null = null;
  try {
    socket = townTmuxSocket(paths);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  let agentsFile;
  try {
    agentsFile = readAgentsFile(paths);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  return {
    daemon: {
      running,
      pid: running ? (pid ?? state?.pid ?? null) : null,
      started_at: time(state?.started_at),
      last_heartbeat: time(state?.last_heartbeat),
      heartbeat_count: state?.heartbeat_count ?? 0,
    },
    tmux: { socket },
    town_stopped: readTownStopped(paths),
    agents_updated_at: agentsFile?.updated_at ?? null,
    agents: agentsFile?.agents ?? [],
    problems,
  };
}
