import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findResetPhrase, resolveReset, timeZone, zonedInstant } from "./reset-time.js";
import { parseScreen } from "./screen.js";
import { readUsageLimit, type UsageLimitReading } from "./usage-limits.js";

const at = (iso: string): number => Date.parse(iso);
/** When a reading says the wall lifts, as an ISO string. */
const resets = (reading: UsageLimitReading | null): string | null =>
  reading === null || reading.resetsAt === null ? null : new Date(reading.resetsAt).toISOString();

/** The reading for a screen whose last lines are `texts`, seen at `seenIso`. */
function read(texts: readonly string[], seenIso: string, localZone = "UTC"): UsageLimitReading | null {
  return readUsageLimit(parseScreen(texts.join("\n")).lines, at(seenIso), { localZone });
}

/** A Claude screen: the banner above the input box and the footer. */
const claude = (banner: string): string[] => [
  "❯ keep going",
  `  ⎿  ${banner}`,
  "",
  "─".repeat(60),
  "❯\u00a0",
  "─".repeat(60),
  "  ⏵⏵ bypass permissions on (shift+tab to cycle)",
];

describe("Claude's usage-limit banners", () => {
  it("reads a session limit with its reset time in the banner's zone", () => {
    const banner = "You've hit your session limit · resets 4:20pm (Asia/Tbilisi)";
    // 14:00 in Tbilisi (UTC+4): today, 16:20 local.
    assert.deepEqual(read(claude(banner), "2026-05-10T10:00:00Z"), {
      limit: "session",
      resetsAt: at("2026-05-10T12:20:00Z"),
      detail: `⎿  ${banner}`,
    });
    // 17:00 local: the time has passed, so tomorrow's 16:20.
    assert.equal(resets(read(claude(banner), "2026-05-10T13:00:00Z")), "2026-05-11T12:20:00.000Z");
  });

  it("reads extra usage as the spend limit, across a spring-forward day in Los Angeles", () => {
    const banner = "You're out of extra usage · resets 5pm (America/Los_Angeles)";
    // Seen at midnight PST on 2026-03-08; by 5pm the clocks say PDT (UTC-7), not PST (UTC-8).
    const reading = read(claude(banner), "2026-03-08T08:00:00Z");
    assert.equal(reading?.limit, "spend");
    assert.equal(resets(reading), "2026-03-09T00:00:00.000Z");
    // And back on the fall-back day: 5pm PST on 2026-11-01, seen at 23:00 PDT the evening before.
    assert.equal(resets(read(claude(banner), "2026-11-01T06:00:00Z")), "2026-11-02T01:00:00.000Z");
  });

  it("reads the 2025 wording, midnight as 12am, in the machine's zone when the banner names none", () => {
    const reading = read(
      ["Claude usage limit reached. Your limit will reset at 12am."],
      "2026-01-15T20:00:00Z",
      "Europe/Berlin",
    );
    assert.equal(reading?.limit, "unknown");
    assert.equal(resets(reading), "2026-01-15T23:00:00.000Z");
    const epoch = read(["Claude AI usage limit reached|1768521600"], "2026-01-15T20:00:00Z");
    assert.equal(resets(epoch), "2026-01-16T00:00:00.000Z");
  });

  it("reads 12pm as noon, strictly after the moment seen", () => {
    const banner = ["You've hit your session limit · resets 12pm (UTC)"];
    assert.equal(resets(read(banner, "2026-01-15T11:59:00Z")), "2026-01-15T12:00:00.000Z");
    assert.equal(resets(read(banner, "2026-01-15T12:00:00Z")), "2026-01-16T12:00:00.000Z");
  });

  it("reads a 24-hour time", () => {
    const reading = read(
      claude("You've hit your session limit · resets 13:30 (Europe/Madrid)"),
      "2026-07-01T10:00:00Z",
    );
    assert.equal(resets(reading), "2026-07-01T11:30:00.000Z");
  });

  it("reads dated walls as weekly, with or without the year", () => {
    const plain = read(
      claude("You've hit your weekly limit · resets Dec 8, 4pm (UTC)"),
      "2026-12-05T09:00:00Z",
    );
    assert.deepEqual([plain?.limit, resets(plain)], ["weekly", "2026-12-08T16:00:00.000Z"]);
    const withYear = read(
      claude("You've hit your usage limit · resets Dec 8, 2026, 4pm (UTC)"),
      "2026-12-05T09:00:00Z",
    );
    assert.deepEqual([withYear?.limit, resets(withYear)], ["weekly", "2026-12-08T16:00:00.000Z"]);
    // A date already behind (by more than a day) is next year's; January seen in late December too.
    const later = read(["You've hit your weekly limit · resets Dec 8, 4pm (UTC)"], "2026-12-20T09:00:00Z");
    assert.equal(resets(later), "2027-12-08T16:00:00.000Z");
    const january = read(["You've hit your weekly limit · resets Jan 2, 9am (UTC)"], "2026-12-30T09:00:00Z");
    assert.equal(resets(january), "2027-01-02T09:00:00.000Z");
  });

  it("reads a per-model wall, with no reset time", () => {
    const banner =
      "You've reached your Fable 5 limit. Run /usage-credits to continue or switch models with /model.";
    assert.deepEqual(read(claude(banner), "2026-05-10T10:00:00Z"), {
      limit: "model",
      resetsAt: null,
      detail: `⎿  ${banner}`,
    });
    assert.equal(
      read(["Fable 5 requires usage credits · Run /usage-credits"], "2026-05-10T10:00:00Z")?.limit,
      "model",
    );
  });

  it("reads the /rate-limit-options menu, and the banner above it when there is one", () => {
    const menu = [
      "  What do you want to do?",
      "",
      "  ❯ 1. Stop and wait for limit to reset",
      "    2. Upgrade your plan",
      "",
      "  Enter to confirm · Esc to cancel",
    ];
    assert.deepEqual(read(menu, "2026-05-10T10:00:00Z"), {
      limit: "unknown",
      resetsAt: null,
      detail: "What do you want to do?",
    });
    const withBanner = read(
      ["You've hit your session limit · resets 4pm (UTC)", ...menu],
      "2026-05-10T10:00:00Z",
    );
    assert.deepEqual([withBanner?.limit, resets(withBanner)], ["session", "2026-05-10T16:00:00.000Z"]);
  });

  it("reads the spend cap menu as a spend wall with no reset time", () => {
    const screen = [
      "  Usage credit balance: $0.00",
      "  ❯ 1. Adjust monthly spend limit",
      "    2. Wait for limit to reset",
    ];
    assert.deepEqual(read(screen, "2026-05-10T10:00:00Z"), {
      limit: "spend",
      resetsAt: null,
      detail: "Usage credit balance: $0.00",
    });
  });

  it("says so when the banner's zone is unknown, and gives no time", () => {
    const reading = read(
      ["You've hit your session limit · resets 4pm (Mars/Olympus)"],
      "2026-05-10T10:00:00Z",
    );
    assert.equal(reading?.resetsAt, null);
    assert.match(reading.detail, /unknown time zone "Mars\/Olympus"/);
  });

  it("keeps the detail to 200 characters", () => {
    const reading = read(
      [`You've hit your session limit · resets 4pm (UTC) ${"x".repeat(300)}`],
      "2026-05-10T10:00:00Z",
    );
    assert.equal(reading?.detail.length, 200);
    assert.equal(resets(reading), "2026-05-10T16:00:00.000Z");
  });
});

describe("Codex's and Gemini's walls", () => {
  it("reads Codex's usage limit, its time in the machine's zone, even wrapped", () => {
    const banner = [
      "■ You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit",
      "https://chatgpt.com/codex/settings/usage to purchase more credits or try again at 3:05 PM.",
      "",
      "› Ask Codex to do anything",
    ];
    const reading = read(banner, "2026-05-10T10:00:00Z", "America/New_York");
    assert.equal(reading?.limit, "unknown");
    assert.equal(resets(reading), "2026-05-10T19:05:00.000Z");
    const dated = read(
      ["■ You've hit your usage limit. Try again at Sep 1st, 2026 10:37 PM."],
      "2026-08-28T10:00:00Z",
      "UTC",
    );
    assert.deepEqual([dated?.limit, resets(dated)], ["weekly", "2026-09-01T22:37:00.000Z"]);
    const later = read(["■ You've hit your usage limit. Try again later."], "2026-08-28T10:00:00Z");
    assert.equal(later?.resetsAt, null);
    const relative = read(
      ["■ You've hit your usage limit. Try again in 2 hours 5 minutes."],
      "2026-08-28T10:00:00Z",
    );
    assert.equal(resets(relative), "2026-08-28T12:05:00.000Z");
  });

  it("reads Gemini's usage-limit menu", () => {
    const screen = ["Usage limit reached for gemini-2.5-pro.", "", "● 1. Keep trying", "  2. Stop"];
    assert.deepEqual(read(screen, "2026-05-10T10:00:00Z"), {
      limit: "unknown",
      resetsAt: null,
      detail: "Usage limit reached for gemini-2.5-pro.",
    });
  });
});

describe("what is no wall", () => {
  const seen = "2026-05-10T10:00:00Z";
  for (const line of [
    "You've used 90% of your session limit · resets 4pm (UTC)",
    "Approaching usage limit · resets at 4pm",
    "You're now using usage credits",
    "  ⎿  HTTP 429 Too Many Requests",
    "  ⎿  error: rate limit exceeded, retrying in 2s",
    "  ⎿  You have exceeded the rate limit for this endpoint",
    "If you hit your limit, wait for it to reset at 4pm.",
    "● When you've hit your session limit, townd waits · resets 4pm (UTC)",
    "● The CLI then prints: You've hit your session limit · resets 4pm (UTC)",
    "Usage limit reached for this code",
  ]) {
    it(`not: ${line.trim()}`, () => {
      assert.equal(read(claude(line), seen), null);
    });
  }

  it("not a banner above the last lines", () => {
    const screen = [
      "You've hit your session limit · resets 4pm (UTC)",
      ...Array<string>(8).fill("● more output"),
    ];
    assert.equal(read(screen, seen), null);
  });
});

describe("reset-time arithmetic", () => {
  it("finds a time skipped by a spring-forward jump after the jump", () => {
    const la = timeZone("America/Los_Angeles");
    assert.ok(la !== null);
    const skipped = zonedInstant(la, { year: 2026, month: 3, day: 8 }, 2, 30);
    assert.equal(new Date(skipped).toISOString(), "2026-03-08T10:30:00.000Z"); // 3:30 PDT
  });

  it("reads fixed offsets and rejects impossible dates and times", () => {
    const phrase = findResetPhrase("Access resets at 4:19 PM GMT+4.");
    assert.ok(phrase !== null);
    assert.deepEqual(resolveReset(phrase, at("2026-05-10T10:00:00Z"), "UTC"), {
      at: at("2026-05-10T12:19:00Z"),
    });
    const feb30 = findResetPhrase("resets Feb 30, 4pm (UTC)");
    assert.ok(feb30 !== null);
    assert.ok("error" in resolveReset(feb30, at("2026-01-01T00:00:00Z"), "UTC"));
    assert.equal(findResetPhrase("resets 13pm"), null);
    assert.equal(findResetPhrase("resets 5"), null);
    assert.equal(findResetPhrase("resets 24:00"), null);
  });
});
