import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PassLoop } from "../../src/daemon/loop.js";
import { daemonSettings } from "../../src/town/settings.js";
import { formatDuration, parseDuration } from "../../src/util/duration.js";
import { Gen, fuzzSeed, show, targetRng } from "./_gen.js";

/**
 * Fuzzes Go-style durations: parseDuration returns a finite whole number of milliseconds or throws a
 * RangeError, never anything else; formatDuration's output parses back to the same value; terms add up.
 * Then what the daemon does with an accepted duration: every timer it arms must fit setTimeout's range.
 *
 * Reproduce a failure: FUZZ_SEED=<seed> node --import tsx --test test/fuzz/duration.test.ts
 */

const SEED = fuzzSeed(0xd0a7104);
const CANARY = "/tmp/townd-fuzz-duration-CANARY";
/** setTimeout/setInterval fire after 1 ms for any delay above this (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const UNITS = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"];

function durationText(g: Gen): string {
  const number = (): string =>
    g.pick<() => string>([
      () => String(g.int(0, 1000)),
      () => `${g.int(0, 99)}.${g.int(0, 999)}`,
      () => `.${g.int(0, 99)}`,
      () => `${g.int(0, 9)}.`,
      () => "9".repeat(g.int(10, 400)),
      () => `${g.int(0, 9)}e${g.int(0, 9)}`,
      () => `-${g.int(0, 9)}`,
      () => `+${g.int(0, 9)}`,
      () => "0x1f",
      () => "Infinity",
      () => "",
    ])();
  const unit = (): string =>
    g.bool(0.85) ? g.pick(UNITS) : g.pick(["", "S", "M", "H", "d", "min", "sec", "µ", " s"]);
  const roll = g.rng();
  if (roll < 0.15) return g.hostile(CANARY, 3);
  if (roll < 0.2) return g.unicode(5);
  let text = "";
  const terms = g.int(1, 4);
  for (let i = 0; i < terms; i++) text += `${number()}${unit()}${g.bool(0.05) ? " " : ""}`;
  return g.bool(0.1) ? ` ${text} ` : text;
}

describe(`fuzzed durations (FUZZ_SEED=${SEED})`, () => {
  it("parseDuration: a finite whole number of ms ≥ 0, or a RangeError (3000 cases)", (t) => {
    const g = new Gen(targetRng(SEED, "parse-duration"));
    const failures: string[] = [];
    let accepted = 0;
    const CASES = 3000;
    for (let n = 0; n < CASES; n++) {
      const text = durationText(g);
      try {
        const ms = parseDuration(text);
        accepted++;
        if (!Number.isFinite(ms) || !Number.isInteger(ms) || ms < 0)
          failures.push(`#${n} ${show(text)} -> ${ms}`);
      } catch (error) {
        if (!(error instanceof RangeError)) failures.push(`#${n} ${show(text)} threw ${String(error)}`);
      }
    }
    t.diagnostic(`${CASES} strings, ${accepted} accepted`);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures (FUZZ_SEED=${SEED})`);
  });

  it("formatDuration round-trips and terms add up (2000 cases)", () => {
    const g = new Gen(targetRng(SEED, "round-trip"));
    const failures: string[] = [];
    for (let n = 0; n < 1000; n++) {
      const ms = g.pick([g.int(0, 999), g.int(0, 3_600_000), g.int(0, 2 ** 31), Math.floor(g.rng() * 1e13)]);
      const text = formatDuration(ms);
      let back: number | string;
      try {
        back = parseDuration(text);
      } catch (error) {
        back = String(error);
      }
      if (back !== ms) failures.push(`#${n} ${ms} -> ${show(text)} -> ${back}`);
    }
    for (let n = 0; n < 1000; n++) {
      const a = `${g.int(0, 500)}${g.pick(["ms", "s", "m", "h"])}`;
      const b = `${g.int(0, 500)}${g.pick(["ms", "s", "m", "h"])}`;
      const sum = parseDuration(`${a}${b}`);
      if (sum !== parseDuration(a) + parseDuration(b)) failures.push(`${a}+${b} -> ${sum}`);
    }
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures (FUZZ_SEED=${SEED})`);
  });

  const overflowing: string[] = [];
  it("collects the accepted durations that overflow a timer (1000 cases)", (t) => {
    const g = new Gen(targetRng(SEED, "timers"));
    for (let n = 0; n < 1000; n++) {
      const text = g.bool(0.3) ? `${g.int(25, 999_999)}${g.pick(["h", "m"])}` : durationText(g);
      let ms: number;
      try {
        ms = parseDuration(text);
      } catch {
        continue;
      }
      const settings = daemonSettings({
        operational: { daemon: { recovery_heartbeat_interval: text, death_poll_interval: text } },
      });
      if (settings.recoveryHeartbeatIntervalMs > MAX_TIMER_MS || settings.deathPollIntervalMs > MAX_TIMER_MS)
        overflowing.push(`${show(text)} (${ms} ms)`);
    }
    t.diagnostic(
      `${overflowing.length} accepted durations exceed ${MAX_TIMER_MS} ms, e.g. ${overflowing.slice(0, 3).join(", ")}`,
    );
  });

  it("a heartbeat interval too long for a timer does not make the daemon run a pass every millisecond", async () => {
    const settings = daemonSettings({
      operational: { daemon: { recovery_heartbeat_interval: "999999h" } },
    });
    const controller = new AbortController();
    let passes = 0;
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on("warning", onWarning);
    const loop = new PassLoop({
      signal: controller.signal,
      intervalMs: () => settings.recoveryHeartbeatIntervalMs,
      pass: () => {
        passes++;
        // Enough to tell a hot loop from a timer (and to keep the overflow warnings few).
        if (passes >= 5) controller.abort();
        return Promise.resolve();
      },
      onPassError: () => undefined,
    });
    const timer = setTimeout(() => {
      controller.abort();
    }, 300);
    await loop.run();
    clearTimeout(timer);
    process.off("warning", onWarning);
    assert.ok(
      passes <= 2,
      `${passes} passes (stopped at 5) within 300 ms with a 999999h interval (warnings: ${warnings.length})`,
    );
    assert.deepEqual(overflowing.slice(0, 5), [], "no accepted duration arms an overflowing timer");
  });
});
