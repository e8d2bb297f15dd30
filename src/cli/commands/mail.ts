import type { Command } from "commander";
import { AppError } from "../../errors.js";
import { deleteMail, getMail, inbox, markRead, sendMail } from "../../store/mail.js";
import { printJson, resolveTown, type CliContext } from "../context.js";
import { callerIdentity, mailAddress, withStore } from "../store-access.js";
import { formatTable } from "../table.js";
import { visible } from "../safe-text.js";
import { MAX_BODY_BYTES, MAX_SUBJECT_BYTES, checkLength } from "../../util/text-limits.js";

export function registerMail(program: Command, ctx: CliContext): void {
  const mail = program.command("mail").description("the town's mail, kept in daemon/town.db");

  mail
    .command("send")
    .description("send a message")
    .argument("<to>", "recipient: an agent identity (deacon, gastown/witness, …) or a plain name")
    .requiredOption("-s, --subject <subject>", "subject line")
    .requiredOption("-m, --message <body>", "message body")
    .option("--from <id>", "sender (default: $TOWND_IDENTITY, $BD_ACTOR, or operator)")
    .action((to: string, opts: { subject: string; message: string; from?: string }) => {
      checkLength("--subject", opts.subject, MAX_SUBJECT_BYTES);
      checkLength("--message", opts.message, MAX_BODY_BYTES);
      const from = mailAddress(
        opts.from ?? ctx.env["TOWND_IDENTITY"] ?? ctx.env["BD_ACTOR"] ?? "operator",
        "--from",
      );
      const message = withStore(resolveTown(ctx), (db) =>
        sendMail(db, { from, to: mailAddress(to, "recipient"), subject: opts.subject, body: opts.message }),
      );
      ctx.out(`✓ Sent ${message.id} to ${message.to}`);
    });

  mail
    .command("inbox")
    .description("list a mailbox, oldest first")
    .option(
      "--identity <id>",
      "whose mailbox (default: the calling agent's, from $TOWND_IDENTITY, $BD_ACTOR or $GT_ROLE)",
    )
    .option("--unread", "only unread messages")
    .option(
      "--json",
      "the reference's message shape: id, from, to, subject, body, timestamp, read, priority, type",
    )
    .action((opts: { identity?: string; unread?: boolean; json?: boolean }) => {
      const owner =
        opts.identity === undefined
          ? callerIdentity(undefined, ctx.env, "--identity ID (e.g. --identity mayor)", "whose mailbox")
          : mailAddress(opts.identity, "--identity");
      const messages = withStore(
        resolveTown(ctx),
        (db) => inbox(db, owner, { unreadOnly: opts.unread === true }),
        { readOnly: true },
      );
      if (opts.json === true) {
        printJson(ctx, messages);
        return;
      }
      if (messages.length === 0) {
        ctx.out("No messages.");
        return;
      }
      const rows = messages.map((m) => [
        visible(m.id),
        m.read ? " " : "●",
        visible(m.from),
        visible(m.timestamp),
        visible(m.subject.slice(0, 60)),
      ]);
      for (const line of formatTable(["ID", "", "FROM", "SENT", "SUBJECT"], rows)) ctx.out(line);
    });

  mail
    .command("read")
    .description(
      "show a message (it stays unread, as in the reference: a lifecycle request read by a person must still run)",
    )
    .argument("<id>")
    .option("--json", "machine-readable output")
    .action((id: string, opts: { json?: boolean }) => {
      const message = withStore(resolveTown(ctx), (db) => getMail(db, id), { readOnly: true });
      if (message === undefined) throw new AppError("E_NO_MAIL", `No message "${id}"`);
      if (opts.json === true) {
        printJson(ctx, message);
        return;
      }
      ctx.out(
        `From: ${visible(message.from)}\nTo: ${visible(message.to)}\nDate: ${visible(message.timestamp)}\n` +
          `Subject: ${visible(message.subject)}\n\n${visible(message.body, { multiline: true })}`,
      );
    });

  mail
    .command("mark-read")
    .description("mark a message read (read lifecycle requests are not executed)")
    .argument("<id>")
    .action((id: string) => {
      const marked = withStore(resolveTown(ctx), (db) => markRead(db, id));
      if (!marked) throw new AppError("E_NO_MAIL", `No message "${id}"`);
      ctx.out(`✓ Marked ${id} read`);
    });

  mail
    .command("delete")
    .description("delete a message")
    .argument("<id>")
    .action((id: string) => {
      const deleted = withStore(resolveTown(ctx), (db) => deleteMail(db, id));
      if (!deleted) throw new AppError("E_NO_MAIL", `No message "${id}"`);
      ctx.out(`✓ Deleted ${id}`);
    });
}
