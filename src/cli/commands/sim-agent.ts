import type { Command } from "commander";
import { runSimAgent } from "../../sim-agent/agent.js";
import { SIM_COMMAND_USAGE } from "../../sim-agent/commands.js";
import { resolveSimAgentOptions, SIM_ENV, type SimAgentFlags } from "../../sim-agent/options.js";
import type { CliContext } from "../context.js";

const HELP_AFTER = `
Every control is also an environment variable (the flag wins), because townd configures runtimes
through env and args:
  ${SIM_ENV.title}  ${SIM_ENV.log}  ${SIM_ENV.crashAfter}  ${SIM_ENV.exitCode}
  ${SIM_ENV.exitAfter}  ${SIM_ENV.hangAfter}  ${SIM_ENV.hangIgnoresSigterm}=1  ${SIM_ENV.hangIgnoresSignals}=1
  ${SIM_ENV.startupDelay}  ${SIM_ENV.bypassDialog}=1  ${SIM_ENV.dialogs}  ${SIM_ENV.heartbeatFile}
  ${SIM_ENV.heartbeatInterval}  ${SIM_ENV.stopHeartbeatAfter}  ${SIM_ENV.settings}
Dialogs (--dialogs trust,mcp,api-key,bypass,unknown) are Claude Code 2.1.332's, with its text and keys:
Up/Down move the ❯ cursor, Enter confirms, Esc cancels (the trust and bypass dialogs then exit 1),
digits do nothing. "unknown" is a menu no profile knows. The prompt is Claude's "❯ ".
With --dangerously-skip-permissions, as root and without IS_SANDBOX=1, the agent refuses to start
with Claude's message and exits 1.

Durations are Go-style: 0s, 500ms, 1.2s, 3m, 1h30m. Timers count from the start of the process;
heartbeats begin once the agent is ready (after --startup-delay and the dialog).

Also read: GT_ROLE and BD_ACTOR (the identity in the banner), TOWND_GENERATION (logged with every
event). With GT_ROLE=deacon and GT_TOWN_ROOT (or GT_ROOT), heartbeats go to <root>/deacon/heartbeat.json.

Typed at the prompt (e.g. with tmux send-keys):
  ${SIM_COMMAND_USAGE.split(" | ").join("\n  ")}
/sim run runs PROGRAM without a shell (quotes group words; $(…), ; and globs are plain text).
/sim hook fires EVENT's hooks with Claude's base fields plus the JSON object's (e.g.
  /sim hook StopFailure {"error":"rate_limit"}).
/sim wall DURATION hits a usage limit that lifts DURATION from now (rounded up to the minute the
  banner shows, in UTC): Claude's banner "You've hit your session limit · resets 3:42pm (UTC)", a
  StopFailure hook, a spent window in the statusline; until then every prompt gets the banner and
  StopFailure again instead of a turn. --menu adds the /rate-limit-options menu.
/sim permission TOOL COMMAND shows Claude's permission prompt (PreToolUse, PermissionRequest, a
  permission_prompt notification); Enter on Yes runs it (PostToolUse, Stop), Esc answers No.
With --busy, the input box takes keys as Claude's does mid-turn: Enter queues a prompt for after the
turn, Escape on an empty box interrupts it ("Interrupted · What should Claude do instead?", no hook),
Escape with text in the box does nothing. A hung agent ignores it all.

With --settings FILE, the hooks FILE registers run as Claude runs them (sh -c, the JSON payload on
stdin): SessionStart when ready, UserPromptSubmit then Stop for each input line (not /sim commands),
and the statusline after each Stop.

Log file: one JSON object per line, {"ts","type",…,"generation","pid"}, with type one of start, input,
exit, crash, hang, heartbeat, heartbeat-stopped, signal, dialog (a dialog's or menu's answer), title,
run, wall, interrupt, hook, eof.

Signals: SIGTERM and SIGINT exit 0 (ignored while hung with --hang-ignores-sigterm); SIGHUP exits 0
(ignored too while hung with --hang-ignores-signals).
End of input exits 0 on a terminal; on a pipe the agent keeps running until signalled.

Examples:
  townd sim-agent --title claude --log /tmp/agent.jsonl
  TOWND_SIM_CRASH_AFTER=1.2s TOWND_SIM_EXIT_CODE=3 townd sim-agent
  GT_ROLE=deacon GT_TOWN_ROOT=~/gt townd sim-agent --heartbeat-interval 5s --stop-heartbeat-after 1m`;

export function registerSimAgent(program: Command, ctx: CliContext): void {
  program
    .command("sim-agent")
    .summary("a simulated agent for tests and the demo")
    .description(
      "A simulated agent for tests and the demo: it behaves like an interactive AI CLI in a tmux pane " +
        "(Claude's prompt and start-up dialogs, input log, heartbeats, crashes, hangs) and needs no API key.",
    )
    .option("--title <name>", 'process title, what tmux shows as the pane command (default "2.1.7")')
    .option("--log <file>", "append every input line and lifecycle event to FILE as JSON lines")
    .option("--crash-after <duration>", "crash after DURATION (0s: at once, before the prompt)")
    .option("--exit-code <n>", "exit code of a crash, 0-255 (default 1)")
    .option("--exit-after <duration>", "exit cleanly (code 0) after DURATION")
    .option("--hang-after <duration>", "hang after DURATION: alive, but no input, output or heartbeats")
    .option(
      "--hang-ignores-sigterm",
      "while hung, ignore SIGTERM and SIGINT (SIGKILL and SIGHUP still end it)",
    )
    .option("--busy", "once ready, start a turn that never ends: a working spinner and no Stop hook")
    .option("--hang-ignores-signals", "while hung, ignore SIGTERM, SIGINT and SIGHUP: only SIGKILL ends it")
    .option("--startup-delay <duration>", "start slowly: the banner and prompt appear after DURATION")
    .option("--bypass-dialog", "show the Bypass Permissions dialog first; Down then Enter accepts it")
    .option("--dialogs <list>", "start-up dialogs to show, comma-separated: trust,mcp,api-key,bypass,unknown")
    .option("--dangerously-skip-permissions", "as Claude: refuse to start as root unless IS_SANDBOX=1")
    .option("--heartbeat-file <path>", "write a Deacon heartbeat (reference §14) to PATH")
    .option("--heartbeat-interval <duration>", "time between heartbeats (default 30s)")
    .option(
      "--stop-heartbeat-after <duration>",
      "stop heartbeating after DURATION but keep answering (0s: never heartbeat)",
    )
    .option("--settings <file>", "as Claude: run the command hooks and statusline FILE registers")
    .option("-r, --resume <session-id>", "as Claude: resume that conversation (its hooks keep the id)")
    .argument("[prompt]", "as Claude: the first input, handled once the agent is ready")
    .addHelpText("after", HELP_AFTER)
    .action(async (prompt: string | undefined, flags: SimAgentFlags) => {
      const options = resolveSimAgentOptions({ ...flags, prompt }, ctx.env, ctx.cwd);
      process.exitCode = await runSimAgent(options, {
        stdin: process.stdin,
        stdout: process.stdout,
        exit: (code) => {
          process.exit(code);
        },
      });
    });
}
