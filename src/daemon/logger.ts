import { pino, type Logger } from "pino";
import { RotatingFile } from "./rotating-file.js";

export type { Logger } from "pino";

export interface DaemonLog {
  readonly logger: Logger;
  readonly file: RotatingFile;
}

/**
 * The daemon's structured log: one JSON object per line (`townd logs` renders it for people), with ISO
 * timestamps so a raw `tail` is readable too.
 */
export function openDaemonLog(file: string, maxBytes: number, maxFiles: number): DaemonLog {
  const destination = new RotatingFile({ file, maxBytes, maxFiles, mode: 0o600 });
  const logger = pino(
    {
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return { logger, file: destination };
}
