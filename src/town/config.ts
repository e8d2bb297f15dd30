import type { z } from "zod";
import { FileFormatError, errorMessage } from "../errors.js";
import { readJsonIfExists } from "../util/json-file.js";
import type { TownPaths } from "./paths.js";
import {
  patrolConfigSchema,
  rigsFileSchema,
  settingsSchema,
  wispConfigSchema,
  type PatrolConfig,
  type RigsFile,
  type SettingsFile,
  type WispConfig,
} from "./schemas.js";
import { daemonSettings, type DaemonSettings } from "./settings.js";

/** Everything the daemon reads from the town's config files, as one immutable value per pass. */
export interface TownConfig {
  readonly settings: SettingsFile;
  readonly daemon: DaemonSettings;
  /** undefined when mayor/daemon.json is missing: every patrol is enabled (B21). */
  readonly patrols: PatrolConfig | undefined;
  readonly rigs: RigsFile;
  readonly wisp: ReadonlyMap<string, WispConfig | undefined>;
  readonly rigSettings: ReadonlyMap<string, SettingsFile | undefined>;
}

export type ConfigProblemHandler = (problem: { file: string; message: string; recovered: boolean }) => void;

/**
 * Loads the town's config for the daemon. A file with an error does not stop anything: the last good
 * version of that file stays in force (or the default, if it was never good), and the problem is reported
 * once — not once per pass — until the file changes again.
 */
export class ConfigLoader {
  private readonly lastGood = new Map<string, unknown>();
  private readonly reported = new Map<string, string>();

  private readonly paths: TownPaths;
  private readonly onProblem: ConfigProblemHandler;

  constructor(paths: TownPaths, onProblem: ConfigProblemHandler) {
    this.paths = paths;
    this.onProblem = onProblem;
  }

  /** The config problems in force now: one line per file, as reported (for `status` and `reload`). */
  problems(): string[] {
    return [...this.reported.values()];
  }

  load(): TownConfig {
    const settings = this.read(this.paths.settingsJson, settingsSchema) ?? {};
    const patrols = this.read(this.paths.patrolConfig, patrolConfigSchema);
    const rigs = this.read(this.paths.rigsJson, rigsFileSchema) ?? { version: 1, rigs: {} };
    const wisp = new Map<string, WispConfig | undefined>();
    const rigSettings = new Map<string, SettingsFile | undefined>();
    for (const rig of Object.keys(rigs.rigs)) {
      wisp.set(rig, this.read(this.paths.wispConfig(rig), wispConfigSchema));
      rigSettings.set(rig, this.read(this.paths.rigSettings(rig), settingsSchema));
    }
    return { settings, daemon: daemonSettings(settings), patrols, rigs, wisp, rigSettings };
  }

  private read<S extends z.ZodType>(file: string, schema: S): z.output<S> | undefined {
    try {
      const value = readJsonIfExists(file, schema);
      this.lastGood.set(file, value);
      if (this.reported.delete(file))
        this.onProblem({ file, message: "file is valid again", recovered: true });
      return value;
    } catch (error) {
      const message = error instanceof FileFormatError ? error.message : `${file}: ${errorMessage(error)}`;
      if (this.reported.get(file) !== message) {
        this.reported.set(file, message);
        this.onProblem({ file, message, recovered: false });
      }
      return this.lastGood.get(file) as z.output<S> | undefined;
    }
  }
}

/** The same files for a CLI command, where a bad file is an error that names it. */
export function loadTownConfigStrict(paths: TownPaths): TownConfig {
  return new ConfigLoader(paths, (problem) => {
    if (!problem.recovered)
      throw new FileFormatError(problem.file, problem.message.replace(`${problem.file}: `, ""));
  }).load();
}
