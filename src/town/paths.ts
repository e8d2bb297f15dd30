import { join } from "node:path";

/** Every file and directory townd reads or writes, relative to one town root. */
export interface TownPaths {
  readonly root: string;
  readonly mayorDir: string;
  readonly townJson: string;
  readonly rigsJson: string;
  readonly patrolConfig: string;
  readonly settingsDir: string;
  readonly settingsJson: string;
  readonly deaconDir: string;
  readonly deaconHeartbeat: string;
  readonly daemonDir: string;
  readonly lockFile: string;
  readonly pidFile: string;
  readonly stateFile: string;
  readonly logFile: string;
  readonly startupLog: string;
  readonly agentsFile: string;
  readonly controlSocket: string;
  /** Where tmux's pane-died hooks append a line for each death: its change wakes the daemon. */
  readonly paneEventsFile: string;
  readonly storeFile: string;
  readonly wispConfigDir: string;
  wispConfig(rig: string): string;
  rigDir(rig: string): string;
  rigSettings(rig: string): string;
  polecatsDir(rig: string): string;
}

export function townPaths(root: string): TownPaths {
  const mayorDir = join(root, "mayor");
  const settingsDir = join(root, "settings");
  const deaconDir = join(root, "deacon");
  const daemonDir = join(root, "daemon");
  const wispConfigDir = join(root, ".beads-wisp", "config");
  return {
    root,
    mayorDir,
    townJson: join(mayorDir, "town.json"),
    rigsJson: join(mayorDir, "rigs.json"),
    patrolConfig: join(mayorDir, "daemon.json"),
    settingsDir,
    settingsJson: join(settingsDir, "config.json"),
    deaconDir,
    deaconHeartbeat: join(deaconDir, "heartbeat.json"),
    daemonDir,
    lockFile: join(daemonDir, "daemon.lock"),
    pidFile: join(daemonDir, "daemon.pid"),
    stateFile: join(daemonDir, "state.json"),
    logFile: join(daemonDir, "daemon.log"),
    startupLog: join(daemonDir, "startup.log"),
    agentsFile: join(daemonDir, "agents.json"),
    controlSocket: join(daemonDir, "control.sock"),
    paneEventsFile: join(daemonDir, "pane-events"),
    storeFile: join(daemonDir, "town.db"),
    wispConfigDir,
    wispConfig: (rig) => join(wispConfigDir, `${rig}.json`),
    rigDir: (rig) => join(root, rig),
    rigSettings: (rig) => join(root, rig, "settings", "config.json"),
    polecatsDir: (rig) => join(root, rig, "polecats"),
  };
}
