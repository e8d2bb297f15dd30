import { z } from "zod";
import { parseDuration } from "../util/duration.js";
import { LISTEN_FORMAT, parseListenAddress } from "../util/listen-address.js";
import { RIG_NAME } from "./names.js";

/** A Go-style duration string ("3m", "500ms"), validated when the file is read. */
export const durationString = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
  }
});

export const rigName = z.string().regex(RIG_NAME, "must be letters, digits, '-' or '_'");

/** An HTTP listener's address (`http.listen`): HOST:PORT, validated when the file is read. */
export const listenAddress = z.string().superRefine((value, ctx) => {
  try {
    parseListenAddress(value);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    ctx.addIssue({ code: "custom", message: `${problem}; expected ${LISTEN_FORMAT}` });
  }
});
