import type { Command } from "commander";
import { pc } from "../colour.js";
import { AppError } from "../../errors.js";
import { listEvents, type TownEvent } from "../../store/events.js";
import { deadPaneLines } from "../../store/pane-lines.js";
import { readAgentsFile } from "../../supervisor/agents-file.js";
import { formatIdentity, parseIdentity } from "../../town/identity.js";
import { formatAge, parseDuration } from "../../util/duration.js";
import { sleep } from "../../util/sleep.js";
import { resolveTown, type CliContext } from "../context.js";
import { withStore } from "../store-access.js";
import { safeJson, visible } from "../safe-text.js";

function formatEvent(event: TownEvent): string {
  const time = event.ts.replace("T", " ").replace(/\.\d+Z$/, "Z");
  const action = typeof event.data["action"] === "string" ? ` ${event.data["action"]}` : "";
  const who = event.identity === null ? "" : ` ${event.identity}`;
  return `${pc.dim(time)} ${visible(`${event.type}${who}${action}: ${event.reason}`)}`;
}

function sinceOption(value: string | undefined, now: number): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new Date(now - parseDuration(value)).toISOString();
  } catch (error) {
    throw new AppError(
      "E_BAD_ARGUMENT",
      `Invalid --since ${JSON.stringify(value)}: ${(error as Error).message}`,
    );
  }
}

export function registerEvents(program: Command, ctx: CliContext): void {
  program
    .command("events")
    .description("what the daemon decided and why: spawns, deaths, waits, alerts, lifecycle requests")
    .option("-f, --follow", "keep printing new events (Ctrl-C to stop)")
    .option("--agent <agent>", "only events about this agent")
    .option("--since <duration>", "only events newer than this, e.g. 1h, 30m")
    .option("-n, --lines <n>", "at most this many past events", "100")
    .option("--json", "one JSON object per line")
    .action(
      async (opts: { follow?: boolean; agent?: string; since?: string; lines: string; json?: boolean }) => {
        const paths = resolveTown(ctx);
        const identity = opts.agent === undefined ? undefined : formatIdentity(parseIdentity(opts.agent));
        const limit = Number(opts.lines);
        if (!Number.isInteger(limit) || limit < 0)
          throw new AppError("E_BAD_ARGUMENT", `Invalid --lines ${JSON.stringify(opts.lines)}`);
        const since = sinceOption(opts.since, Date.now());
        const print = (event: TownEvent): void => {
          ctx.out(opts.json === true ? safeJson(event) : formatEvent(event));
        };
        let lastId = 0;
        const filter = {
          ...(identity === undefined ? {} : { identity }),
          ...(since === undefined ? {} : { since }),
        };
        for (const event of withStore(paths, (db) => listEvents(db, { ...filter, limit }), {
          readOnly: true,
        })) {
          print(event);
          lastId = event.id;
        }
        while (opts.follow === true) {
          await sleep(250);
          for (const event of withStore(paths, (db) => listEvents(db, { ...filter, afterId: lastId }), {
            readOnly: true,
          })) {
            print(event);
            lastId = event.id;
          }
        }
      },
    );

  program
    .command("why")
    .description(
      "the last decisions about one agent, with reasons, exit statuses and the dead pane's last lines",
    )
    .argument("<agent>", "identity, e.g. deacon or gastown/witness")
    .option("-n, --lines <n>", "how many decisions", "15")
    .option("--json", "machine-readable output")
    .action((agent: string, opts: { lines: string; json?: boolean }) => {
      const paths = resolveTown(ctx);
      const identity = formatIdentity(parseIdentity(agent));
      const status = readAgentsFile(paths)?.agents.find((a) => a.identity === identity);
      const limit = Number(opts.lines);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
        throw new AppError(
          "E_BAD_ARGUMENT",
          `Invalid --lines ${JSON.stringify(opts.lines)}: a whole number from 1 to 100000`,
        );
      }
      const events = withStore(paths, (db) => listEvents(db, { identity, limit }), { readOnly: true });
      if (status === undefined && events.length === 0) {
        throw new AppError(
          "E_UNKNOWN_AGENT",
          `Nothing known about ${identity}: the daemon has never supervised it`,
        );
      }
      const paneLines = deadPaneLines(events);
      if (opts.json === true) {
        ctx.out(safeJson({ identity, status: status ?? null, events }, 2));
        return;
      }
      const now = Date.now();
      if (status !== undefined) {
        const uptime =
          status.started_at === null ? "-" : `${formatAge(now - Date.parse(status.started_at))} ago`;
        ctx.out(`${pc.bold(identity)} ${visible(`(session ${status.session}): ${status.state}`)}`);
        ctx.out(
          `  generation ${visible(status.generation ?? "-")}, started ${uptime}, restarts ${status.restarts_auto} automatic / ${status.restarts_manual} manual`,
        );
        if (status.last_exit !== null)
          ctx.out(
            `  last exit: ${visible(status.last_exit)}${status.last_death_at === null ? "" : ` (${formatAge(now - Date.parse(status.last_death_at))} ago)`}`,
          );
        if (status.next_attempt_at !== null) ctx.out(`  next attempt: ${status.next_attempt_at}`);
        if (status.respawn_armed === true)
          ctx.out(
            "  if it dies now: tmux respawns it at once (armed), the daemon records it at its next pass",
          );
        if (status.last_reason !== null) ctx.out(`  last reason: ${visible(status.last_reason)}`);
        const activity = status.activity;
        if (activity !== undefined && activity !== null) {
          const reset = activity.resets_at === null ? "" : `, resets ${activity.resets_at}`;
          ctx.out(
            `  activity: ${visible(`${activity.state} for ${formatAge(now - Date.parse(activity.since))} (${activity.source}): ${activity.detail}${reset}`)}`,
          );
        }
        if (status.detail !== undefined && status.detail !== null)
          ctx.out(`  detail: ${visible(status.detail)}`);
      }
      ctx.out("");
      ctx.out(pc.bold("Recent decisions and activity changes:"));
      for (const event of events) ctx.out(`  ${formatEvent(event)}`);
      if (paneLines !== undefined) {
        ctx.out("");
        ctx.out(pc.bold(`Last lines of the pane before ${paneLines.at}:`));
        for (const line of paneLines.lines) ctx.out(`  │ ${visible(line)}`);
      }
    });
}
