import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  watch,
  type FSWatcher,
} from "node:fs";
import { basename, dirname } from "node:path";
import { errorMessage } from "../../errors.js";
import { openPrivateFile } from "../../util/private-file.js";
import { HOOK_PAYLOAD_MAX_BYTES } from "./settings-file.js";

/** One line of daemon/hook-events: which generation of which agent saw which Claude event, and when it was read. */
export interface HookEvent {
  readonly generation: string;
  readonly event: string;
  /** The event's JSON object; null when it was cut (over the hook's size cap), malformed or not an object. */
  readonly payload: Record<string, unknown> | null;
  readonly receivedAt: number;
}

const GENERATION = /^[A-Za-z0-9_-]{1,64}$/;
const EVENT = /^[A-Za-z]{1,64}$/;
/** The longest line a hook writes: generation, event, two tabs and a capped payload. */
export const HOOK_LINE_MAX_BYTES = HOOK_PAYLOAD_MAX_BYTES + 256;

/** Parses `<generation>\t<event>\t<payload>`; null when the generation or event is not a plain name. */
export function parseHookLine(line: string, receivedAt: number): HookEvent | null {
  if (line.length > HOOK_LINE_MAX_BYTES) return null;
  const first = line.indexOf("\t");
  const second = first === -1 ? -1 : line.indexOf("\t", first + 1);
  if (second === -1) return null;
  const generation = line.slice(0, first);
  const event = line.slice(first + 1, second);
  if (!GENERATION.test(generation) || !EVENT.test(event)) return null;
  return { generation, event, payload: parseObject(line.slice(second + 1)), receivedAt };
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Once the file is larger than this and everything in it was read, it is moved aside and started afresh. */
export const HOOK_EVENTS_MAX_BYTES = 1024 * 1024;
/** The most one read takes; a pass that finds more schedules another. */
const READ_CHUNK_BYTES = 256 * 1024;
/** How long a file moved aside is kept open for a hook that opened it just before the move. */
const RETIRE_GRACE_MS = 2_000;
/** The most read from a file being let go (replaced, removed or moved aside). */
const DRAIN_MAX_BYTES = 4 * 1024 * 1024;

export interface HookIntakeOptions {
  /** daemon/hook-events. */
  readonly file: string;
  readonly onEvents: (events: HookEvent[]) => void;
  /** Where problems go (a symbolic link replaced, a read that failed); default: nowhere. */
  readonly onProblem?: (message: string) => void;
  /** Read what the file already holds at start (default false: only lines appended from now on). */
  readonly readExisting?: boolean;
  readonly maxBytes?: number;
  readonly now?: () => number;
}

interface Open {
  fd: number;
  ino: number;
  offset: number;
  /** The start of a line not yet ended by a newline. */
  partial: Buffer;
  /** A line over HOOK_LINE_MAX_BYTES is being skipped up to its newline. */
  skipping: boolean;
}

/**
 * Tails daemon/hook-events: a watch on daemon/ (so a replaced or re-created file is noticed as well as an
 * appended one) wakes a pass that reads what was appended since the last offset and hands the parsed lines to
 * `onEvents`. Never follows a symbolic link (one at the name is replaced by a regular file); a file cut
 * shorter is read again from its start; reads are bounded. Once everything was read and the file is over
 * `maxBytes`, it is renamed to `<file>.old` (hooks then create a new one) and the old one is read once more
 * after a grace period, for a hook that opened it just before, then removed.
 */
export class HookIntake {
  readonly #o: HookIntakeOptions;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #watcher: FSWatcher | undefined;
  #current: Open | undefined;
  #retired: { open: Open; timer: NodeJS.Timeout } | undefined;
  #scheduled = false;
  #stopped = true;

  constructor(options: HookIntakeOptions) {
    this.#o = options;
    this.#maxBytes = options.maxBytes ?? HOOK_EVENTS_MAX_BYTES;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { file } = this.#o;
    const created = openPrivateFile(file, "append");
    closeSync(created.fd);
    if (created.replacedLink) this.#problem(`Replaced the symbolic link ${file} by a file`);
    const name = basename(file);
    this.#watcher = watch(dirname(file), { persistent: false }, (_type, changed) => {
      if (changed === null || changed === name) this.poke();
    });
    this.#watcher.on("error", (error) => {
      this.#problem(`Watching ${dirname(file)} failed: ${errorMessage(error)}`);
    });
    this.#current = this.#open();
    if (this.#current !== undefined && this.#o.readExisting !== true)
      this.#current.offset = fstatSync(this.#current.fd).size;
    this.poke();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#retired !== undefined) this.#finishRetired();
    if (this.#current !== undefined) closeSync(this.#current.fd);
    this.#current = undefined;
  }

  /** Schedules a pass (the watch does this; a caller may too, e.g. on its own periodic pass). */
  poke(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#stopped) this.#pass();
    });
  }

  #pass(): void {
    const events: HookEvent[] = [];
    let more = false;
    try {
      const seen = lstatSync(this.#o.file, { throwIfNoEntry: false });
      if (seen?.isSymbolicLink() === true) {
        const replaced = openPrivateFile(this.#o.file, "append");
        closeSync(replaced.fd);
        this.#problem(`Replaced the symbolic link ${this.#o.file} by a file`);
      }
      const now = lstatSync(this.#o.file, { throwIfNoEntry: false });
      let current = this.#current;
      if (current !== undefined && (now === undefined || now.ino !== current.ino)) {
        // Replaced or removed: what was appended to the old file before that is still read, then it is let go.
        this.#read(current, events, DRAIN_MAX_BYTES);
        closeSync(current.fd);
        current = this.#current = undefined;
      }
      if (current === undefined && now?.isFile() === true) current = this.#current = this.#open();
      if (current !== undefined) {
        more = this.#read(current, events, READ_CHUNK_BYTES * 4);
        if (!more) this.#rotateIfLarge(current);
      }
    } catch (error) {
      this.#problem(`Reading ${this.#o.file} failed: ${errorMessage(error)}`);
    }
    if (events.length > 0) this.#deliver(events);
    if (more) this.poke();
  }

  #deliver(events: HookEvent[]): void {
    try {
      this.#o.onEvents(events);
    } catch (error) {
      this.#problem(`Handling hook events failed: ${errorMessage(error)}`);
    }
  }

  #open(): Open | undefined {
    let fd: number;
    try {
      fd = openSync(this.#o.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      return undefined;
    }
    return { fd, ino: stats.ino, offset: 0, partial: Buffer.alloc(0), skipping: false };
  }

  /** Reads from the offset, at most `budget` bytes; returns whether more is left. */
  #read(open: Open, events: HookEvent[], budget: number): boolean {
    const size = fstatSync(open.fd).size;
    if (size < open.offset) {
      // Cut shorter in place: start over from the beginning; a line begun before the cut is dropped.
      open.offset = 0;
      open.partial = Buffer.alloc(0);
      open.skipping = false;
    }
    let taken = 0;
    while (open.offset < size && taken < budget) {
      const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, size - open.offset));
      const read = readSync(open.fd, chunk, 0, chunk.length, open.offset);
      if (read === 0) break;
      open.offset += read;
      taken += read;
      this.#lines(open, chunk.subarray(0, read), events);
    }
    return open.offset < size;
  }

  #lines(open: Open, data: Buffer, events: HookEvent[]): void {
    let start = 0;
    const receivedAt = this.#now();
    for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
      const piece = data.subarray(start, nl);
      start = nl + 1;
      if (open.skipping) {
        open.skipping = false;
        continue;
      }
      const line = open.partial.length === 0 ? piece : Buffer.concat([open.partial, piece]);
      open.partial = Buffer.alloc(0);
      const event = parseHookLine(line.toString("utf8"), receivedAt);
      if (event !== null) events.push(event);
    }
    if (open.skipping || start >= data.length) return;
    const rest = data.subarray(start);
    if (open.partial.length + rest.length > HOOK_LINE_MAX_BYTES) {
      open.partial = Buffer.alloc(0);
      open.skipping = true;
    } else {
      open.partial = Buffer.concat([open.partial, rest]);
    }
  }

  #rotateIfLarge(open: Open): void {
    if (open.offset <= this.#maxBytes || this.#retired !== undefined) return;
    const aside = `${this.#o.file}.old`;
    renameSync(this.#o.file, aside);
    this.#current = undefined;
    const timer = setTimeout(() => {
      this.#finishRetired();
    }, RETIRE_GRACE_MS);
    timer.unref();
    this.#retired = { open, timer };
    const replaced = openPrivateFile(this.#o.file, "append");
    closeSync(replaced.fd);
    this.poke();
  }

  /** The last read of a file moved aside; then it is closed and removed. */
  #finishRetired(): void {
    const retired = this.#retired;
    if (retired === undefined) return;
    this.#retired = undefined;
    clearTimeout(retired.timer);
    const events: HookEvent[] = [];
    try {
      this.#read(retired.open, events, DRAIN_MAX_BYTES);
    } catch (error) {
      this.#problem(`Reading ${this.#o.file}.old failed: ${errorMessage(error)}`);
    }
    closeSync(retired.open.fd);
    rmSync(`${this.#o.file}.old`, { force: true });
    if (events.length > 0) this.#deliver(events);
  }

  #problem(message: string): void {
    this.#o.onProblem?.(message);
  }
}
