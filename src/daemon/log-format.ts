const LEVELS: Record<string, string> = {
  "10": "TRACE",
  "20": "DEBUG",
  "30": "INFO",
  "40": "WARN",
  "50": "ERROR",
  "60": "FATAL",
};
const OMIT = new Set(["time", "level", "msg", "pid", "hostname"]);

/**
 * Renders one log line for people: `2026-11-24 10:13:39 INFO  Heartbeat complete (#3) reasons=["start"]`.
 * Lines that are not JSON (a crash trace written to stderr) are shown as they are.
 */
export function formatLogLine(line: string): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof record !== "object" || record === null) return line;
  const fields = record as Record<string, unknown>;
  const time =
    typeof fields["time"] === "string" ? fields["time"].replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
  const rawLevel = fields["level"];
  const level =
    typeof rawLevel === "string" ? rawLevel.toUpperCase() : (LEVELS[String(rawLevel)] ?? String(rawLevel));
  const msg = typeof fields["msg"] === "string" ? fields["msg"] : "";
  const extras = Object.entries(fields)
    .filter(([key]) => !OMIT.has(key))
    .map(([key, value]) => `${key}=${key === "err" ? errText(value) : JSON.stringify(value)}`);
  return [time, level.padEnd(5), msg, ...extras].filter((part) => part !== "").join(" ");
}

function errText(value: unknown): string {
  if (typeof value === "object" && value !== null && "message" in value) return JSON.stringify(value.message);
  return JSON.stringify(value);
}
