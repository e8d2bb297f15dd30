import type { Role } from "../town/identity.js";

/**
 * The texts typed into an agent after a start (reference §13): the startup beacon, which also becomes the
 * session's title in Claude's /resume picker, and the role's propulsion nudge.
 */

export interface StartupBeacon {
  /** The agent, in canonical (BD_ACTOR) form: `deacon`, `gastown/witness`. */
  readonly recipient: string;
  /** Who started it: `daemon`, `deacon`, `self`. */
  readonly sender: string;
  /** Why: `patrol`, `lifecycle-restart`, `cold-start`, `handoff`, `assigned`, `start`, `restart`. */
  readonly topic?: string | undefined;
  readonly molId?: string | undefined;
}

const HOOK_AND_MAIL =
  "Check your hook and mail, then act on the hook if present:\n" +
  "1. `gt hook` - shows hooked work (if any)\n" +
  "2. `gt mail inbox` - check for messages\n" +
  "3. If work is hooked → execute it immediately\n" +
  "4. If nothing hooked → wait for instructions";

/** Instructions after the header, by topic; `patrol` and `lifecycle-restart` get none. */
const EXTRAS: Readonly<Record<string, string>> = {
  handoff: HOOK_AND_MAIL,
  "cold-start": HOOK_AND_MAIL,
  assigned: "Work is on your hook. Run `gt hook` now and begin immediately.",
  start: "Run `gt prime` now for full context, then check your hook and mail.",
  restart: "Run `gt prime` now for full context, then check your hook and mail.",
};

/** `[GAS TOWN] <recipient> <- <sender> • <local YYYY-MM-DDTHH:MM> • <topic>`, then the topic's extras. */
export function formatStartupBeacon(beacon: StartupBeacon, now: Date): string {
  const topic = oneLine(beacon.topic ?? "");
  const molId = oneLine(beacon.molId ?? "");
  const shown = topic && molId ? `${topic}:${molId}` : molId || topic || "ready";
  const header = `[GAS TOWN] ${oneLine(beacon.recipient)} <- ${oneLine(beacon.sender)} • ${localMinute(now)} • ${shown}`;
  // As in the reference, extras follow the topic alone, so `assigned` with a molecule still gets them.
  const extra = Object.hasOwn(EXTRAS, topic) ? EXTRAS[topic] : undefined;
  return extra === undefined ? header : `${header}\n\n${extra}`;
}

/** Boot's prompt (reference §5.2, B40): it triages the Deacon, then ends itself. */
export const BOOT_PROMPT = "gt boot triage";

/**
 * The prompt a role is started with, as the CLI's last argument (the reference's prompt mode `arg`), or
 * null. A role started with a prompt gets no beacon and no nudge: the prompt is its work.
 */
export function startupPrompt(role: Role): string | null {
  return role === "boot" ? BOOT_PROMPT : null;
}

/** The reference's PropulsionNudgeForRole; Boot, like polecats and crew, gets the default hook text. */
export function propulsionNudge(role: Role, sessionId?: string): string {
  const text = (() => {
    switch (role) {
      case "witness":
        return "Run `gt prime` to check patrol status and begin work.";
      case "refinery":
        return "Run `gt prime` to check MQ status and begin patrol.";
      case "deacon":
        return "Run `gt prime` to check patrol status and begin heartbeat cycle.";
      case "mayor":
        return "Run `gt prime` to check mail and begin coordination.";
      case "polecat":
      case "crew":
      case "boot":
        return "Run `gt hook` to check your hook and begin work.";
    }
  })();
  const id = oneLine(sessionId ?? "").trim();
  return id === "" ? text : `${text} [session:${id}]`;
}

function localMinute(now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return (
    `${String(now.getFullYear()).padStart(4, "0")}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}` +
    `T${pad(now.getHours())}:${pad(now.getMinutes())}`
  );
}

/**
 * These texts are typed into the agent's prompt: a newline or escape inside a field would submit it early or
 * drive the terminal, so control characters in fields become spaces.
 */
function oneLine(text: string): string {
  return text.replace(/\p{Cc}/gu, " ");
}
