import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatAge, formatDuration, parseDuration } from "./duration.js";

describe("parseDuration()", () => {
  it('parseDuration() accepts "0" without a unit, and zero with a unit', () => {
    assert.equal(parseDuration("0"), 0);
    assert.equal(parseDuration("0s"), 0);
    assert.equal(parseDuration("0ms"), 0);
  });

  it("parseDuration() accepts every unit: ns, us, µs, ms, s, m, h", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("3m"), 180_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1500us"), 2, "1.5 ms rounds to 2 ms");
    assert.equal(parseDuration("2500µs"), 3);
    assert.equal(parseDuration("3000000ns"), 3);
  });

  it("parseDuration() accepts compound terms like 1h30m", () => {
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1h0m0s"), 3_600_000);
    assert.equal(parseDuration("1m30s500ms"), 90_500);
    assert.equal(parseDuration("3m0s"), 180_000);
  });

  it('parseDuration() accepts fractions like "2.5s", "1.5h" and ".5s"', () => {
    assert.equal(parseDuration("2.5s"), 2500);
    assert.equal(parseDuration("1.5h"), 5_400_000);
    assert.equal(parseDuration(".5s"), 500);
    assert.equal(parseDuration("0.25m"), 15_000);
  });

  it("parseDuration() reads what formatDuration() writes", () => {
    for (const ms of [0, 1, 500, 1000, 1500, 61_500, 180_000, 3_900_000, 90_061_001]) {
      assert.equal(parseDuration(formatDuration(ms)), ms, formatDuration(ms));
    }
  });

  it("parseDuration() rejects a number without a unit, unknown units, spaces inside, and junk", () => {
    const bad = [
      "",
      " ",
      "10",
      "1.5",
      "1d",
      "3mm",
      "1 h",
      "1h 30m",
      "h",
      "s5",
      "abc",
      "1h-5m",
      "3m!",
      "1..5s",
      "--1s",
    ];
    for (const text of bad) {
      assert.throws(() => parseDuration(text), RangeError, `${JSON.stringify(text)} should be rejected`);
    }
  });

  it("parseDuration() errors quote the input and name the expected form", () => {
    assert.throws(() => parseDuration("soon"), /Cannot parse duration "soon".*"3m"/);
    assert.throws(() => parseDuration(""), /Cannot parse duration ""/);
  });

  it('parseDuration() accepts the Greek mu "μs" as Go does (U+03BC as well as U+00B5)', () => {
    // Go's time.ParseDuration lists both "µs" (micro sign) and "μs" (Greek small letter mu).
    assert.equal(parseDuration("2000\u03bcs"), 2);
  });
});

describe("formatDuration()", () => {
  it("formatDuration() writes Go's time.Duration.String() form", () => {
    assert.equal(formatDuration(0), "0s");
    assert.equal(formatDuration(1), "1ms");
    assert.equal(formatDuration(500), "500ms");
    assert.equal(formatDuration(1000), "1s");
    assert.equal(formatDuration(1500), "1.5s");
    assert.equal(formatDuration(1010), "1.01s");
    assert.equal(formatDuration(30_000), "30s");
    assert.equal(formatDuration(180_000), "3m0s");
    assert.equal(formatDuration(61_500), "1m1.5s");
    assert.equal(formatDuration(3_600_000), "1h0m0s");
    assert.equal(formatDuration(3_900_000), "1h5m0s");
    assert.equal(formatDuration(90_061_001), "25h1m1.001s");
  });

  it("formatDuration() handles negative values and rounds to the millisecond", () => {
    assert.equal(formatDuration(-1500), "-1.5s");
    assert.equal(formatDuration(-500), "-500ms");
    assert.equal(formatDuration(999.6), "1s");
  });
});

describe("formatAge()", () => {
  it("formatAge() picks seconds, minutes, hours or days", () => {
    assert.equal(formatAge(0), "0s");
    assert.equal(formatAge(45_000), "45s");
    assert.equal(formatAge(89_999), "89s");
    assert.equal(formatAge(90_000), "1m");
    assert.equal(formatAge(89 * 60_000), "89m");
    assert.equal(formatAge(90 * 60_000), "1h");
    assert.equal(formatAge(47 * 3_600_000), "47h");
    assert.equal(formatAge(48 * 3_600_000), "2d");
  });

  it("formatAge() shows a negative age (clock skew) as 0s", () => {
    assert.equal(formatAge(-5000), "0s");
  });
});
