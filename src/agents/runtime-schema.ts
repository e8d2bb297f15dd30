import { z } from "zod";
import { PROFILE_NAMES } from "../activity/profiles.js";
import { durationString } from "../town/schema-helpers.js";

/**
 * A runtime (agent CLI) as settings describe it: the reference's `command` and `args`, plus the process
 * names that count as "the agent is alive", extra environment, and the prompt that means "ready for input".
 */
export const runtimeSchema = z.looseObject({
  command: z.string().min(1, "must name the agent's executable"),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  process_names: z.array(z.string().min(1)).optional(),
  ready_prompt: z.string().optional(),
  ready_timeout: durationString.optional(),
  startup_delay: durationString.optional(),
  bypass_dialog: z.boolean().optional(),
  /** Which known CLI's screens this runtime draws (dialogs, readiness, start failures); default generic. */
  profile: z.enum(PROFILE_NAMES).optional(),
  /** For a Claude-profile runtime: whether townd passes its hook and statusline settings (default true). */
  hooks: z.boolean().optional(),
  /** The variable the agent CLI reads its session id from (Claude: CLAUDE_SESSION_ID); exported as GT_SESSION_ID_ENV. */
  session_id_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional(),
});

export type RuntimeSettings = z.output<typeof runtimeSchema>;
