import type { Db } from "../store/db.js";
import { sendMail, type Message } from "../store/mail.js";
import { LIFECYCLE_INBOX } from "./intake.js";
import type { LifecycleAction } from "./parse.js";

/**
 * A lifecycle request as the reference's agents send it (§7.1): `LIFECYCLE:` mail from the agent to the
 * Deacon's mailbox. `townd request` and the dashboard's cycle button both send it this way, so the daemon
 * takes it through one path: intake, the request rate, a claim, the planner, a reply.
 */
export function mailLifecycleRequest(
  db: Db,
  identity: string,
  action: LifecycleAction,
  reason: string | undefined,
): Message {
  return sendMail(db, {
    from: identity,
    to: LIFECYCLE_INBOX,
    subject: `LIFECYCLE: ${identity} requesting ${action}`,
    body: JSON.stringify({ action, ...(reason === undefined ? {} : { reason }) }),
    type: "lifecycle",
  });
}
