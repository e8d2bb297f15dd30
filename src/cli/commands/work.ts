import type { Command } from "commander";
import { AppError } from "../../errors.js";
import { setAgentState, setHook } from "../../store/agents.js";
import { resolveTown, type CliContext } from "../context.js";
import { callerIdentity, withStore } from "../store-access.js";

const CONTROL = /[\u0000-\u001f\u007f]/;
const STATE = /^[a-z][a-z0-9_-]{0,31}$/;

function workId(text: string): string {
  if (text.trim() === "" || text.length > 200 || CONTROL.test(text)) {
    throw new AppError(
      "E_BAD_ARGUMENT",
      `Invalid work id ${JSON.stringify(text)}: 1-200 printable characters`,
    );
  }
  return text;
}

export function registerWork(program: Command, ctx: CliContext): void {
  const hook = program.command("hook").description("the work hooked to an agent (what it must be doing)");
  hook
    .command("set")
    .description("hook a piece of work to an agent")
    .argument("<agent>", "identity, e.g. gastown/polecats/max")
    .argument("<work-id>", "the work item, e.g. gt-1234")
    .action((agent: string, work: string) => {
      const identity = callerIdentity(agent, ctx.env);
      withStore(resolveTown(ctx), (db) => {
        setHook(db, identity, workId(work));
      });
      ctx.out(`✓ ${identity} has ${work} on its hook`);
    });
  hook
    .command("clear")
    .description("clear an agent's hook")
    .argument("<agent>")
    .action((agent: string) => {
      const identity = callerIdentity(agent, ctx.env);
      withStore(resolveTown(ctx), (db) => {
        setHook(db, identity, null);
      });
      ctx.out(`✓ ${identity}'s hook is clear`);
    });

  program
    .command("agent")
    .description("an agent's own state in the store")
    .command("state")
    .description("set an agent's state (e.g. working, idle, done, nuked)")
    .argument("<agent>")
    .argument("<state>", "a lower-case word")
    .action((agent: string, state: string) => {
      if (!STATE.test(state)) {
        throw new AppError(
          "E_BAD_ARGUMENT",
          `Invalid state ${JSON.stringify(state)}: a lower-case word like "working"`,
        );
      }
      const identity = callerIdentity(agent, ctx.env);
      withStore(resolveTown(ctx), (db) => {
        setAgentState(db, identity, state);
      });
      ctx.out(`✓ ${identity} is ${state}`);
    });
}
