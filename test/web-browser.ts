/**
 * Driving the web app in Debian's Chromium through playwright-core, for the end-to-end tests:
 * launching it headless, signing in through the node's login page, checking a view with axe,
 * and saving a screenshot of it for review.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Where each view's screenshot is saved (under the repository, ignored by git). */
export const SCREENSHOT_DIR = join(process.cwd(), 'tmp', 'web-app-screenshots');

/** Headless Chromium without the background connections this closed network refuses. */
export async function launchChromium(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the test command installs Debian's chromium package`,
  );
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export type WebRole = 'patient' | 'clinician' | 'privacy officer';

/** Signs `username` in at `origin` as `role`, through the app's button and the node's login page; resolves on the app's first view. */
export async function signIn(
  page: Page,
  origin: string,
  role: WebRole,
  username: string,
  hash = '',
): Promise<void> {
  await page.goto(`${origin}/${hash}`);
  await page.getByRole('button', { name: new RegExp(`^Sign in as a ${role}`) }).click();
  await page.waitForURL(/\/auth\/authorize/);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'chartchain-demo');
  await page.click('button[type=submit]');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Runs axe on the page as it is now; fails on any serious or critical violation, naming them. Saves a screenshot as `name`. */
export async function checkView(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
  assert.deepEqual(
    serious.map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes
          .map((node) => node.target.join(' '))
          .slice(0, 3)
          .join('; ')})`,
    ),
    [],
    `accessibility of ${name}`,
  );
}
