import { checkArgv, checkOptionValue, envArgs, paneArgv, paneTarget } from "./args.js";
import { controlWord } from "./control-protocol.js";
import { escapeFormat } from "./format.js";

// A pre-armed respawn (src/policy/arming.ts) lives in tmux as the pane's own `pane-died` hook, which
// shadows the server's global one (the daemon's wake-up) while it is set. When the pane dies the hook asks
// the server's town-wide allowance first: with one left it spends it, disarms itself, keeps what the daemon
// will want to know (the exit, the last lines), respawns the pane with the generation the daemon chose
// when it armed it, and wakes the daemon; with none left it only wakes the daemon, which then decides as
// for any death. Every word goes through controlWord (tmux's command language); the only formats are ours.

/** Armed respawns made since the daemon started counting (server option, raised by each armed hook). */
export const ARM_FIRED_OPTION = "@townd_arm_fired";
/** Armed respawns allowed in all, counted like ARM_FIRED_OPTION; the daemon sets it after each pass. */
export const ARM_LIMIT_OPTION = "@townd_arm_limit";
/** Session option an armed hook leaves: the dead process's exit status and signal, e.g. "1 " or " 9". */
export const ARMED_EXIT_OPTION = "@townd_armed_exit";

/** How many of the dead pane's last lines the hook keeps for `townd why`. */
export const ARMED_LAST_LINES = 20;

export interface ArmedSpawn {
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The generation tmux starts; the daemon records it when it next looks. */
  readonly generation: string;
}

/** The paste buffer holding a session's dead pane's last lines, left by its armed hook. */
export function armedBufferName(session: string): string {
  return `townd-dead-${session}`;
}

const line = (commands: readonly (readonly string[])[]): string =>
  commands.map((command) => command.map(controlWord).join(" ")).join(" ; ");

/**
 * The `set-hook` command that arms `session`'s pane. `wake` is the global hook's body (paneDiedHook), run
 * in both branches, so the daemon hears of every death however it was answered. `cwd` must exist.
 */
/** One arm or disarm command, and the session it is for. */
export interface ArmingCommand {
  readonly session: string;
  readonly command: readonly string[];
}

export function armCommand(session: string, spawn: ArmedSpawn, wake: string): ArmingCommand {
  checkArgv(session, spawn.argv);
  checkOptionValue("@townd_generation", spawn.generation);
  const target = paneTarget(session);
  const fired = `#{${ARM_FIRED_OPTION}}`;
  const allowed = `#{e|<:#{e|+:${fired},0},#{e|+:#{${ARM_LIMIT_OPTION}},0}}`;
  const respawn = line([
    ["set-option", "-gF", ARM_FIRED_OPTION, `#{e|+:${fired},1}`],
    ["set-hook", "-p", "-u", "-t", target, "pane-died"],
    ["set-option", "-F", "-t", target, ARMED_EXIT_OPTION, "#{pane_dead_status} #{pane_dead_signal}"],
    ["capture-pane", "-J", "-t", target, "-S", `-${ARMED_LAST_LINES}`, "-b", armedBufferName(session)],
    [
      "respawn-pane",
      "-k",
      "-t",
      target,
      "-c",
      escapeFormat(spawn.cwd),
      ...envArgs(spawn.env),
      "--",
      ...paneArgv(spawn.argv),
    ],
    ["set-option", "-t", target, "--", "@townd_generation", spawn.generation],
  ]);
  const body = `if-shell -F ${controlWord(allowed)} { ${respawn} ; ${wake} } { ${wake} }`;
  return { session, command: ["set-hook", "-p", "-t", target, "pane-died", body] };
}

/** Disarms `session`'s pane: the server's global hook (the daemon's wake-up) applies again. */
export function disarmCommand(session: string): ArmingCommand {
  return { session, command: ["set-hook", "-p", "-u", "-t", paneTarget(session), "pane-died"] };
}

/**
 * Reads `"<status> <signal>"` as the armed hook wrote it: the exit status, null for a death by a signal,
 * undefined when nothing (or something else) was left.
 */
export function parseArmedExit(value: string): number | null | undefined {
  const match = /^(\d*) (\d*)\n?$/.exec(value);
  if (match === null) return undefined;
  if (match[2] !== undefined && match[2] !== "") return null;
  if (match[1] !== undefined && match[1] !== "") return Number(match[1]);
  return undefined;
}
