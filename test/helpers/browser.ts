import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium (scripts/setup.sh installs it); playwright-core never downloads a browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless Chromium with nothing that reaches beyond this machine (no QUIC, background networking,
 * component updates or sync): the tests talk only to 127.0.0.1. Playwright gives each launch a fresh
 * profile (--user-data-dir in a new temporary directory) and removes it when the browser closes; each
 * newContext() is a fresh cookie jar on top.
 */
export async function launchHeadless(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: run 'bash scripts/setup.sh' (it installs Debian's chromium)`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
