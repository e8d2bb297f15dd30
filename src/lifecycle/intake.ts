import type { DesiredAgent } from "../policy/desired.js";
import type { ManualRequest } from "../policy/plan.js";
import type { Db } from "../store/db.js";
import { recordEvent } from "../store/events.js";
import { claimRequest, dropRequestMail } from "../store/lifecycle.js";
import { deleteMail, inbox, type Message } from "../store/mail.js";
import { formatDuration } from "../util/duration.js";
import { parseLifecycleMessage } from "./parse.js";
import { overRate, type RequestRate } from "./request-rate.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";

/** The Deacon's mailbox: where agents address lifecycle requests (reference §7.1). */
export const LIFECYCLE_INBOX = "deacon";
export const DAEMON_SENDER = "daemon";

export interface Intake {
  readonly requests: ManualRequest[];
  /** Valid requests were left for the next pass (one request per agent per pass). */
  readonly more: boolean;
  /** One line per message handled without execution, for the log. */
  readonly notes: string[];
}

/**
 * Reads lifecycle requests from the Deacon's mailbox and claims at most one per agent (the others wait for
 * the next pass, which the daemon runs at once). Stale requests are deleted unexecuted; malformed ones, ones
 * for agents townd does not keep alive (unknown, a disabled patrol, a held rig) and ones over the agent's
 * request rate are rejected with a reply to the sender.
 */
export function intakeLifecycle(
  db: Db,
  options: {
    now: Date;
    maxAgeMs: number;
    agents: ReadonlyMap<string, DesiredAgent>;
    /** The per-agent bound on requests, and each agent's recent request times (absent: unbounded). */
    rate?: { readonly limit: RequestRate; readonly times: (identity: string) => readonly number[] };
  },
): Intake {
  const { now } = options;
  const requests: ManualRequest[] = [];
  const notes: string[] = [];
  const claimedFor = new Set<string>();
  let more = false;
  for (const message of inbox(db, LIFECYCLE_INBOX, { unreadOnly: true })) {
    const parsed = parseLifecycleMessage(message, now.getTime(), options.maxAgeMs);
    switch (parsed.kind) {
      case "not-lifecycle":
        continue;
      case "stale": {
        const why = `older than ${formatDuration(options.maxAgeMs)} (age ${formatDuration(Math.round(parsed.ageMs / 60_000) * 60_000)})`;
        db.transaction(() => {
          deleteMail(db, message.id);
          recordEvent(
            db,
            { type: "lifecycle_stale", reason: why, data: { message: message.id, from: message.from } },
            now,
          );
        })();
        notes.push(
          `Ignoring stale lifecycle request ${message.id} from ${JSON.stringify(message.from)}: ${why}; deleted`,
        );
        continue;
      }
      case "rejected":
        reject(db, message, parsed.why, now, notes);
        continue;
      case "request": {
        const agent = options.agents.get(parsed.identity);
        if (agent === undefined) {
          reject(db, message, `${parsed.identity} is not an agent this daemon supervises`, now, notes);
          continue;
        }
        // Requests are only for agents the daemon keeps alive: a disabled patrol (the Mayor by default)
        // or a held rig is not started by a request either.
        if (!agent.wanted) {
          reject(db, message, `cannot ${parsed.action} ${parsed.identity}: ${agent.heldReason}`, now, notes);
          continue;
        }
        if (claimedFor.has(parsed.identity)) {
          more = true;
          continue;
        }
        const tooMany =
          options.rate === undefined
            ? undefined
            : overRate(options.rate.times(parsed.identity), now.getTime(), options.rate.limit);
        if (tooMany !== undefined) {
          reject(db, message, `cannot ${parsed.action} ${parsed.identity}: ${tooMany}`, now, notes);
          continue;
        }
        if (!claimRequest(db, message, { identity: parsed.identity, action: parsed.action }, now)) continue;
        claimedFor.add(parsed.identity);
        recordEvent(
          db,
          {
            type: "lifecycle_claimed",
            identity: parsed.identity,
            reason: parsed.action,
            data: { request: message.id },
          },
          now,
        );
        const reason = parsed.reason === "" ? `lifecycle request ${message.id}` : parsed.reason;
        requests.push({ identity: parsed.identity, kind: parsed.action, reason, requestId: message.id });
      }
    }
  }
  return { requests, more, notes };
}

/** Replies go to the sender's canonical mailbox when it is an identity (`r1-witness` reads as `r1/witness`). */
export function replyAddress(from: string): string {
  try {
    return formatIdentity(parseIdentity(from));
  } catch {
    return from;
  }
}

function reject(db: Db, message: Message, why: string, now: Date, notes: string[]): void {
  db.transaction(() => {
    dropRequestMail(db, { ...message, from: replyAddress(message.from) }, why, DAEMON_SENDER, now);
    recordEvent(
      db,
      { type: "lifecycle_rejected", reason: why, data: { message: message.id, from: message.from } },
      now,
    );
  })();
  notes.push(`Rejected lifecycle request ${message.id} from ${JSON.stringify(message.from)}: ${why}`);
}
