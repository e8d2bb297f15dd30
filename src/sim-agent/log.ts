import { appendFileSync } from "node:fs";

/**
 * The simulated agent's log: one JSON object per line, `{"ts","type",…,"generation","pid"}`, appended
 * synchronously so that it is complete even when the process is killed. No file: nothing is logged.
 */
export class SimLog {
  readonly #file: string | undefined;
  readonly #now: () => Date;
  readonly #generation: string | null;

  constructor(file: string | undefined, now: () => Date, generation: string | null) {
    this.#file = file;
    this.#now = now;
    this.#generation = generation;
  }

  /** Appends one entry; throws when the file cannot be written. */
  append(type: string, fields: Record<string, unknown>): void {
    if (this.#file === undefined) return;
    const entry = {
      ts: this.#now().toISOString(),
      type,
      ...fields,
      generation: this.#generation,
      pid: process.pid,
    };
    appendFileSync(this.#file, `${JSON.stringify(entry)}\n`);
  }
}
