import { randomBytes } from "node:crypto";
import type { Db } from "./db.js";
import { MAX_BODY_BYTES, MAX_SUBJECT_BYTES, checkLength, clipBytes } from "../util/text-limits.js";

/** The reference's message shape (BeadsMessage, §7.1), so tools written for Gas Town keep working. */
export interface Message {
  id: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  timestamp: string;
  read: boolean;
  priority: string;
  type: string;
}

interface MailRow {
  id: string;
  from_id: string;
  to_id: string;
  subject: string;
  body: string;
  created_at: string;
  read: number;
  priority: string;
  type: string;
}

const toMessage = (row: MailRow): Message => ({
  id: row.id,
  from: row.from_id,
  to: row.to_id,
  subject: row.subject,
  body: row.body,
  timestamp: row.created_at,
  read: row.read !== 0,
  priority: row.priority,
  type: row.type,
});

export function newMessageId(now: Date): string {
  return `msg-${now.getTime().toString(36)}${randomBytes(4).toString("hex")}`;
}

export interface NewMessage {
  from: string;
  to: string;
  subject: string;
  body: string;
  priority?: string;
  type?: string;
}

/**
 * Stores a message. Subject and body are bounded (see util/text-limits.ts): callers passing what a person or
 * an agent wrote get a one-line error; the daemon's own messages go through fitMail first.
 */
export function sendMail(db: Db, message: NewMessage, now = new Date()): Message {
  checkLength("mail subject", message.subject, MAX_SUBJECT_BYTES);
  checkLength("mail body", message.body, MAX_BODY_BYTES);
  const row: MailRow = {
    id: newMessageId(now),
    from_id: message.from,
    to_id: message.to,
    subject: message.subject,
    body: message.body,
    created_at: now.toISOString(),
    read: 0,
    priority: message.priority ?? "normal",
    type: message.type ?? "message",
  };
  db.prepare(
    `INSERT INTO mail (id, from_id, to_id, subject, body, created_at, read, priority, type)
     VALUES (@id, @from_id, @to_id, @subject, @body, @created_at, @read, @priority, @type)`,
  ).run(row);
  return toMessage(row);
}

/** A mailbox, oldest first. */
/** A message the daemon composes (it may quote agents' text), cut to the bounds instead of refused. */
export function fitMail(message: NewMessage): NewMessage {
  return {
    ...message,
    subject: clipBytes(message.subject, MAX_SUBJECT_BYTES),
    body: clipBytes(message.body, MAX_BODY_BYTES),
  };
}

export function inbox(db: Db, identity: string, options: { unreadOnly?: boolean } = {}): Message[] {
  const rows = db
    .prepare(
      `SELECT * FROM mail WHERE to_id = ? ${options.unreadOnly === true ? "AND read = 0" : ""} ORDER BY created_at, rowid`,
    )
    .all(identity) as MailRow[];
  return rows.map(toMessage);
}

export function getMail(db: Db, id: string): Message | undefined {
  const row = db.prepare("SELECT * FROM mail WHERE id = ?").get(id) as MailRow | undefined;
  return row === undefined ? undefined : toMessage(row);
}

export function markRead(db: Db, id: string): boolean {
  return db.prepare("UPDATE mail SET read = 1 WHERE id = ?").run(id).changes > 0;
}

export function deleteMail(db: Db, id: string): boolean {
  return db.prepare("DELETE FROM mail WHERE id = ?").run(id).changes > 0;
}
