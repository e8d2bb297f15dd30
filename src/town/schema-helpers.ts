import { z } from "zod";
import { parseDuration } from "../util/duration.js";

/** A Go-style duration string ("3m", "500ms"), validated when the file is read. */
export const durationString = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
  }
});

/** Rig names: letters, digits, `-` and `_`, as tmux session names and directories require. */
export const RIG_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const rigName = z.string().regex(RIG_NAME, "must be letters, digits, '-' or '_'");
