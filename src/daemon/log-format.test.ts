import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatLogLine } from "./log-format.js";

describe("formatLogLine()", () => {
  it("formatLogLine() renders time, level and message of a pino line for people", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2026-11-24T10:13:39.123Z",
      pid: 42,
      msg: "Heartbeat complete (#3)",
    });
    const out = formatLogLine(line);
    assert.match(out, /^2026-11-24 10:13:39Z? INFO {2}Heartbeat complete \(#3\)$/);
  });

  it("formatLogLine() maps numeric pino levels and pads the level to five characters", () => {
    const levels: [number, string][] = [
      [10, "TRACE"],
      [20, "DEBUG"],
      [30, "INFO "],
      [40, "WARN "],
      [50, "ERROR"],
      [60, "FATAL"],
    ];
    for (const [level, label] of levels) {
      assert.equal(formatLogLine(JSON.stringify({ level, msg: "m" })), `${label} m`);
    }
    assert.equal(formatLogLine(JSON.stringify({ level: 35, msg: "m" })), "35    m");
    assert.equal(formatLogLine(JSON.stringify({ level: "warn", msg: "m" })), "WARN  m");
  });

  it("formatLogLine() appends extra fields as key=JSON and omits time, level, msg, pid and hostname", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2026-11-24T10:13:39.123Z",
      pid: 42,
      hostname: "h",
      msg: "Pass",
      reasons: ["start"],
      file: "/t/settings/config.json",
    });
    const out = formatLogLine(line);
    assert.ok(out.endsWith(' Pass reasons=["start"] file="/t/settings/config.json"'), out);
    assert.doesNotMatch(out, /pid=|hostname=|time=|level=/);
  });

  it("formatLogLine() shows only the message of an err field", () => {
    const line = JSON.stringify({
      level: 50,
      msg: "Pass failed",
      err: { type: "Error", message: "boom", stack: "..." },
    });
    assert.equal(formatLogLine(line), 'ERROR Pass failed err="boom"');
  });

  it("formatLogLine() passes lines that are not JSON objects through unchanged", () => {
    for (const line of ["plain text from a crash", "42", "null", '"str"', "{broken", ""]) {
      assert.equal(formatLogLine(line), line);
    }
  });

  it("formatLogLine() copes with a record without a message or time", () => {
    assert.equal(formatLogLine(JSON.stringify({ level: 30 })), "INFO ");
  });
});
