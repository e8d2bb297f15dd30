import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { lines, makeTown, type TestTown } from "../../helpers/cli.js";

/**
 * Issue 14 item 15: rig add and rig park rewrite config files keeping unknown fields. A deeply nested unknown
 * field overflowed the stack (a crash with a stack trace); bytes that are not UTF-8 were silently replaced by
 * U+FFFD. Both are now refused with one line naming the file, and the file is left as it was.
 */
describe("rewriting config files with hostile unknown fields", { timeout: 60_000 }, () => {
  let town: TestTown | undefined;
  after(async () => {
    await town?.cleanup();
  });

  const refuses = async (args: string[], file: string, problem: string): Promise<void> => {
    const before = readFileSync(file);
    const result = await town?.run(args);
    assert.equal(result?.code, 1, `${args.join(" ")}: ${result?.stdout ?? ""}${result?.stderr ?? ""}`);
    assert.deepEqual(lines(result.stderr), [`townd: ${file}: ${problem}`]);
    assert.deepEqual(readFileSync(file), before, `${file} was changed`);
  };

  it("rig add with a 100 000-deep unknown field in mayor/rigs.json", async () => {
    town = await makeTown();
    const depth = 100_000;
    const rigs = town.file("mayor", "rigs.json");
    writeFileSync(rigs, `{"version": 1, "rigs": {}, "x": ${"[".repeat(depth)}${"]".repeat(depth)}}`);
    await refuses(["rig", "add", "alpha"], rigs, "nested more than 64 levels deep");
  });

  it("rig park with bytes that are not UTF-8 in an unknown field of the rig's wisp file", async () => {
    const current = town ?? (await makeTown());
    town = current;
    writeFileSync(current.file("mayor", "rigs.json"), '{"version": 1, "rigs": {"beta": {}}}');
    mkdirSync(current.file(".beads-wisp", "config"), { recursive: true });
    const wisp = current.file(".beads-wisp", "config", "beta.json");
    writeFileSync(
      wisp,
      Buffer.concat([
        Buffer.from('{"rig": "beta", "values": {}, "note": "'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]),
    );
    await refuses(["rig", "park", "beta"], wisp, "is not valid UTF-8 text");
  });
});
