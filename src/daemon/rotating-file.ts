import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { openPrivateFile } from "../util/private-file.js";

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
    // Never through a symlink, and with `mode` even when the file was created wider by an older townd.
    this.fd = openPrivateFile(options.file, "append", options.mode ?? 0o600).fd;
    this.size = fstatSync(this.fd).size;
    this.narrowBackups();
  }

  /** Rotated files inherit the current file's mode by rename; older ones made wider are narrowed once. */
  private narrowBackups(): void {
    const mode = this.options.mode ?? 0o600;
    for (let i = 1; i <= this.options.maxFiles; i++) {
      const backup = `${this.options.file}.${i}`;
      try {
        const stats = lstatSync(backup);
        if (stats.isFile() && (stats.mode & 0o777 & ~mode) !== 0) chmodSync(backup, mode);
      } catch {
        // Missing, or gone meanwhile.
      }
    }
  }

  /** Lines that could not be written (a full or read-only disk); the daemon goes on without them. */
  dropped = 0;

  /**
   * Writes one log line whole or not at all, and never throws: a full disk must not take the daemon (and its
   * supervision) down with it, nor leave half a JSON line behind (I7).
   */
  write(chunk: string): boolean {
    const buffer = Buffer.from(chunk);
    try {
      if (this.size > 0 && this.size + buffer.length > this.options.maxBytes) this.rotate();
      let written = 0;
      try {
        while (written < buffer.length) written += writeSync(this.fd, buffer, written);
      } catch (error) {
        if (written > 0) ftruncateSync(this.fd, this.size);
        throw error;
      }
      this.size += buffer.length;
    } catch {
      this.dropped += 1;
    }
    return true;
  }

  /** Limits may change on a config reload. */
  setLimits(maxBytes: number, maxFiles: number): void {
    this.options.maxBytes = maxBytes;
    this.options.maxFiles = maxFiles;
  }

  /** Renames before closing: if the disk refuses, the current file stays open and usable. */
  rotate(): void {
    const { file, maxFiles } = this.options;
    rmSync(`${file}.${maxFiles}`, { force: true });
    for (let i = maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    }
    renameSync(file, `${file}.1`);
    const fd = openPrivateFile(file, "append", this.options.mode ?? 0o600).fd;
    closeSync(this.fd);
    this.fd = fd;
    this.size = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
