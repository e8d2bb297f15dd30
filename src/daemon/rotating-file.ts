import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

export interface RotatingFileOptions {
  file: string;
  /** Rotate once the file reaches this size. */
  maxBytes: number;
  /** Backups kept: file.1 (newest) … file.N (oldest). */
  maxFiles: number;
  mode?: number;
}

/**
 * A log destination that rotates by size: file → file.1 → … → file.N, dropping the oldest. Writes are
 * synchronous so that a line logged just before a crash is on disk.
 */
export class RotatingFile {
  private fd: number;
  private size: number;
  private readonly options: RotatingFileOptions;

  constructor(options: RotatingFileOptions) {
    this.options = options;
    this.fd = openSync(options.file, "a", options.mode ?? 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: string): boolean {
    const bytes = Buffer.byteLength(chunk);
    if (this.size > 0 && this.size + bytes > this.options.maxBytes) this.rotate();
    writeSync(this.fd, chunk);
    this.size += bytes;
    return true;
  }

  /** Limits may change on a config reload. */
  setLimits(maxBytes: number, maxFiles: number): void {
    this.options.maxBytes = maxBytes;
    this.options.maxFiles = maxFiles;
  }

  rotate(): void {
    const { file, maxFiles } = this.options;
    closeSync(this.fd);
    rmSync(`${file}.${maxFiles}`, { force: true });
    for (let i = maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    }
    renameSync(file, `${file}.1`);
    this.fd = openSync(file, "a", this.options.mode ?? 0o600);
    this.size = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
