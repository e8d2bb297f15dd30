import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSupervisedTown, type SupervisedTown } from "../../helpers/supervised-town.js";
import { requestRows } from "../../helpers/store.js";
import { until } from "../../helpers/wait.js";

/**
 * Issue 14 item 9: subjects, bodies and reasons from agents reach the operator's terminal through `mail`,
 * `events`, `why`, `status` and `logs`. An OSC 52 sequence (set the clipboard) or a CSI (clear the screen)
 * in them must come out visible, not as raw escape bytes.
 */

const OSC52 = "\u001b]52;c;cHduZWQ=\u0007";
const C1_CSI = "\u009b2J";
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("untrusted text printed to a terminal", { timeout: 90_000 }, () => {
  let town: SupervisedTown;
  const run = async (args: string[]): Promise<string> => {
    const result = await town.townd(args, { env: { NO_COLOR: "1" } });
    assert.equal(result.code, 0, `townd ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    town = await createSupervisedTown();
    await town.start();
    await town.waitFor((s) => town.agent(s, "deacon").state === "running", 30_000, "the Deacon running");
    const request = await town.townd(["request", "cycle", "--as", "deacon", "--reason", `${OSC52}${C1_CSI}`]);
    assert.equal(request.code, 0, request.stderr);
    await until("the cycle to be done", () => requestRows(town).some((r) => r.status === "done"), 15_000);
    const mail = await town.townd([
      "mail",
      "send",
      "operator",
      "-s",
      `hi ${OSC52}`,
      "-m",
      `line 1\nline 2 ${OSC52}${C1_CSI}`,
    ]);
    assert.equal(mail.code, 0, mail.stderr);
  });
  after(async () => {
    await town.cleanup();
  });

  const check = (what: string, stdout: string): void => {
    assert.doesNotMatch(stdout, RAW, `${what} printed a raw control character`);
    assert.ok(stdout.includes("^[]52;c;cHduZWQ=^G"), `${what} shows the escape:\n${stdout}`);
  };

  it("events and why", async () => {
    check("events", await run(["events", "--agent", "deacon"]));
    check(
      "events --json",
      await run(["events", "--agent", "deacon", "--json"]).then((t) =>
        t.replaceAll("\\u001b", "^[").replaceAll("\\u0007", "^G"),
      ),
    );
    check("why", await run(["why", "deacon"]));
  });

  it("status and logs", async () => {
    await until(
      "the status to show the reason",
      () => town.agent(town.snapshot(), "deacon").last_reason?.includes("52;c") === true,
      10_000,
    );
    check("status", await run(["status"]));
    check("logs", await run(["logs", "-n", "200"]));
  });

  it("mail inbox and mail read (which keeps the body's newlines)", async () => {
    const inbox = await run(["mail", "inbox", "--identity", "operator"]);
    check("mail inbox", inbox);
    const id = /^(msg-\S+)/m.exec(inbox.split("\n")[1] ?? "")?.[1];
    assert.ok(id !== undefined, inbox);
    const read = await run(["mail", "read", id]);
    check("mail read", read);
    assert.match(read, /\n\nline 1\nline 2 \^\[\]52;c;cHduZWQ=\^G\\u009b2J$/m);
  });
});
