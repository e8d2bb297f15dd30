import type { SimDialog } from "./dialog.js";

export interface TerminalIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: NodeJS.WritableStream;
}

export interface TerminalHandlers {
  readonly onData: (chunk: string | Buffer) => void;
  /** End of input, or an input error. */
  readonly onEnd: () => void;
  /** The terminal or the pipe is gone: nobody can see the agent any more. */
  readonly onGone: () => void;
}

/**
 * The simulated agent's terminal: input read while wanted (in raw mode when keys matter, as Claude reads
 * its menus and its input box mid-turn), output written until the terminal goes away, and the redraws a
 * menu needs. Through a pipe there is no raw mode and nothing to redraw: bytes are bytes.
 */
export class SimTerminal {
  readonly tty: boolean;
  readonly #io: TerminalIo;
  readonly #handlers: TerminalHandlers;
  #reading = false;
  #raw = false;
  #gone = false;

  constructor(io: TerminalIo, handlers: TerminalHandlers) {
    this.#io = io;
    this.#handlers = handlers;
    this.tty = io.stdin.isTTY === true;
    // Stays for good: a late write error must not become an uncaught exception.
    io.stdout.on("error", () => {
      this.#gone = true;
      handlers.onGone();
    });
  }

  write(text: string): void {
    if (this.#gone) return;
    try {
      this.#io.stdout.write(text);
    } catch {
      // A closed terminal: the "error" event ends the agent.
    }
  }

  startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    const { stdin } = this.#io;
    stdin.setEncoding("utf8");
    stdin.on("data", this.#handlers.onData);
    stdin.on("end", this.#handlers.onEnd);
    stdin.on("error", this.#handlers.onEnd);
    stdin.resume();
  }

  stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    const { stdin } = this.#io;
    stdin.off("data", this.#handlers.onData);
    stdin.off("end", this.#handlers.onEnd);
    stdin.off("error", this.#handlers.onEnd);
    stdin.pause();
  }

  /** Raw mode: every key arrives at once (arrows, a lone Escape), and nothing is echoed by the terminal. */
  setRaw(raw: boolean): void {
    const { stdin } = this.#io;
    if (!this.tty || this.#raw === raw || stdin.setRawMode === undefined) return;
    stdin.setRawMode(raw);
    this.#raw = raw;
  }

  /** The menu's options again, in place (the cursor stands on the line after its footer). */
  redrawOptions(dialog: SimDialog): void {
    if (!this.tty) return;
    // Below the options: a blank line and the hint; the cursor is on the line after the hint.
    const up = dialog.optionCount + 2;
    const lines = dialog
      .renderOptions()
      .split("\n")
      .map((line) => `\x1b[2K${line}`)
      .join("\n");
    this.write(`\x1b[${up}A\r${lines}\x1b[3B\r`);
  }

  /** Erases the last `lines` lines drawn: a menu leaving the screen. */
  erase(lines: number): void {
    if (this.tty && lines > 0) this.write(`\x1b[${lines}A\r\x1b[J`);
  }

  /** A clear screen with `top` on it: a start-up dialog leaving, or the next one coming. */
  clear(top: string): void {
    if (this.tty) this.write(`\x1b[H\x1b[2J${top}`);
  }
}
