import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { deaconHeartbeatSchema, type DeaconHeartbeat } from "../town/schemas.js";
import { readJsonIfExists, writeJsonAtomic } from "../util/json-file.js";

export const SIM_HEARTBEAT_ACTION = "sim-heartbeat";

/** The cycle the next heartbeat carries: the file's cycle + 1, or 1 when it is missing or unreadable (B122). */
export function nextCycle(file: string): number {
  try {
    const previous = readJsonIfExists(file, deaconHeartbeatSchema);
    return previous === undefined ? 1 : previous.cycle + 1;
  } catch {
    return 1;
  }
}

/**
 * What `gt deacon heartbeat` does (reference §14 `Touch`): reads the previous cycle, then writes
 * `{timestamp, cycle, last_action, healthy_agents, unhealthy_agents}` atomically with mode 0600.
 */
export async function touchHeartbeat(file: string, now: Date): Promise<DeaconHeartbeat> {
  const beat: DeaconHeartbeat = {
    timestamp: now.toISOString(),
    cycle: nextCycle(file),
    last_action: SIM_HEARTBEAT_ACTION,
    healthy_agents: 0,
    unhealthy_agents: 0,
  };
  mkdirSync(dirname(file), { recursive: true });
  await writeJsonAtomic(file, beat, 0o600);
  return beat;
}

export interface HeartbeatWriterOptions {
  readonly file: string;
  readonly intervalMs: number;
  readonly now: () => Date;
  onBeat(beat: DeaconHeartbeat): void;
  onError(error: unknown): void;
}

/**
 * Writes a heartbeat at once and then every interval until stopped. Writes never overlap (the next one is
 * scheduled when the previous one has finished), and a stopped writer schedules nothing more.
 */
export class HeartbeatWriter {
  readonly #options: HeartbeatWriterOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #inFlight: Promise<void> | undefined;

  constructor(options: HeartbeatWriterOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#beat();
  }

  /** Stops the writer; resolves once a write already under way has landed (or failed). */
  stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#inFlight ?? Promise.resolve();
  }

  #beat(): void {
    this.#inFlight = touchHeartbeat(this.#options.file, this.#options.now()).then(
      (beat) => {
        this.#options.onBeat(beat);
      },
      (error: unknown) => {
        this.#options.onError(error);
      },
    );
    void this.#inFlight.then(() => {
      this.#inFlight = undefined;
      if (this.#running)
        this.#timer = setTimeout(() => {
          this.#beat();
        }, this.#options.intervalMs);
    });
  }
}
