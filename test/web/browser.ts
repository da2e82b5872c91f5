// Launching the system's Chromium for the browser tests (playwright-core drives it; no browser is
// downloaded). Where Chromium is missing the tests skip and say why: a developer machine without
// it still passes, and CI installs it (.ci/run).
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['SRGAN_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or point SRGAN_CHROMIUM at one)`;
  process.stderr.write(`${why}\n`);
  return why;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where screenshots go: $SRGAN_SCREENSHOTS, default <tmp>/srgan-screenshots. */
export function screenshotDir(): string {
  const dir = process.env['SRGAN_SCREENSHOTS'] ?? join(tmpdir(), 'srgan-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
