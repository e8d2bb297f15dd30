import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { ManualRequest } from "../policy/plan.js";
import { AppError, fsErrorMessage } from "../errors.js";
import type { TownPaths } from "../town/paths.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";
import { MAX_REASON_BYTES } from "../util/text-limits.js";

const requestSchema = z.object({
  identity: z.string(),
  kind: z.enum(["restart", "cycle", "shutdown", "start", "reset", "stop"]),
  // Written by the CLI with a fixed reason; a hand-made file must not smuggle in a huge one.
  reason: z.string().max(MAX_REASON_BYTES),
});

export function requestsDir(paths: TownPaths): string {
  return join(paths.daemonDir, "requests");
}

/**
 * Operator requests (`townd reset`, `townd restart AGENT`) wait as one small file each until the daemon's
 * next pass takes them; written atomically, so the daemon never reads half a request.
 */
export function enqueueRequest(paths: TownPaths, request: ManualRequest): string {
  const dir = requestsDir(paths);
  const file = join(dir, `${Date.now().toString().padStart(14, "0")}-${randomBytes(4).toString("hex")}.json`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeJsonPrivateSync(file, request);
  } catch (error) {
    // Another user, or a read-only town: a clear line, not a stack trace.
    throw new AppError("E_QUEUE", `Cannot queue the request in ${dir}: ${fsErrorMessage(error)}`, {
      cause: error,
    });
  }
  return file;
}

export interface TakenRequests {
  readonly requests: ManualRequest[];
  /** Removes the taken files, once the pass has acted on them. */
  done(): void;
  /** Files that were not valid requests (removed too, and reported). */
  readonly invalid: string[];
}

export function takeRequests(paths: TownPaths): TakenRequests {
  const dir = requestsDir(paths);
  let names: string[] = [];
  try {
    names = readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .sort();
  } catch {
    names = [];
  }
  const requests: ManualRequest[] = [];
  const invalid: string[] = [];
  for (const name of names) {
    try {
      const request = readJsonIfExists(join(dir, name), requestSchema, { noFollow: true });
      if (request !== undefined) requests.push(request);
    } catch {
      invalid.push(name);
    }
  }
  return {
    requests,
    invalid,
    done: () => {
      for (const name of names) {
        // A directory in place of a request is reported as invalid and left for a person to look at.
        try {
          rmSync(join(dir, name), { force: true });
        } catch {
          // Not removable: reported again next pass.
        }
      }
    },
  };
}
