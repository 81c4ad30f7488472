/**
 * The web app end to end, in real Chromium, against a two-organisation network started with
 * `chartchain network up` (etcd members and nodes on loopback): a practice and a hospital, each
 * serving the app at /. The scenario of the web-app issue, step by step, with axe on every view
 * and a screenshot of each saved for review.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateSigningKey, sha256, toHex } from '../src/crypto/index.js';
import { signHeader } from '../src/ledger/index.js';
import { checkView, launchChromium, signIn } from './web-browser.js';

const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const PATIENT = 'patient-0001';

function chartchain(...args: string[]): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.status, 0, `chartchain ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

let dir: string;
let practice: string;
let hospital: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chartchain-web-'));
  chartchain('network', 'up', '--orgs', '2', '--dir', dir);
  const plan = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')) as {
    nodes: { url: string }[];
  };
  [practice, hospital] = plan.nodes.map((node) => node.url) as [string, string];
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  chartchain('network', 'down', '--dir', dir);
  rmSync(dir, { recursive: true, force: true });
});

/** A page in a fresh browser profile: each person has their own browser. */
async function person(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

/**
 * Reloads until `text` shows, for what takes a block or a key share to arrive. Each load is given
 * a few seconds to finish before the next reload: on a loaded machine a chart takes more than a
 * second to load, and reloading sooner would cancel it every time.
 */
async function eventually(
  page: Page,
  text: string | RegExp,
  reload: () => Promise<unknown>,
  seconds = 30,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (
      await page
        .getByText(text)
        .first()
        .waitFor({ timeout: 5_000 })
        .then(
          () => true,
          () => false,
        )
    )
      return;
    assert.ok(Date.now() < deadline, `"${text}" did not appear within ${seconds} s`);
    await reload();
  }
}

let clinician: Page;
let patient: Page;
let grey: Page;
let officer: Page;

test('1. a clinician signs in and adds an observation', async () => {
  clinician = await person();
  await signIn(clinician, practice, 'clinician', 'dr-ada');
  await clinician.getByRole('button', { name: 'Search', exact: true }).click();
  const row = clinician.getByRole('row').filter({ hasText: PATIENT });
  assert.match(
    await row.innerText(),
    /may read, on the basis of the patient's care at your home practice/,
    'the search says on what basis',
  );
  await checkView(clinician, '01-clinician-patients');
  await clinician.getByLabel('Open a chart by patient id').fill(PATIENT);
  await clinician.getByRole('button', { name: 'Open chart' }).click();
  await clinician.getByRole('heading', { name: 'Add to the chart' }).waitFor();
  await clinician.getByLabel('Measurement').selectOption('4548-4');
  await clinician.getByRole('textbox', { name: 'Value' }).fill('7.3');
  await clinician.getByRole('button', { name: 'Add', exact: true }).click();
  await clinician.getByText(/Added Observation .*anchored on the ledger/).waitFor();
  await checkView(clinician, '02-clinician-chart');
});

test('2. the patient signs in and sees it, with a trend', async () => {
  patient = await person();
  await signIn(patient, practice, 'patient', PATIENT);
  await patient.getByRole('cell', { name: '7.3 %' }).waitFor();
  await patient.locator('.trend-plot[data-rendered]').first().waitFor();
  await checkView(patient, '03-patient-records');

  // New records appear without a reload: the node pushes each new version's id.
  await clinician.getByRole('textbox', { name: 'Value' }).fill('6.8');
  await clinician.getByRole('button', { name: 'Add', exact: true }).click();
  await patient.getByRole('cell', { name: '6.8 %' }).waitFor({ timeout: 15_000 });

  // So do new accesses.
  await patient.goto(`${practice}/#/access`);
  const rows = patient.locator('table.trail tbody tr');
  await rows.first().waitFor();
  const before = await rows.count();
  await clinician.reload();
  await clinician.getByRole('heading', { name: 'Add to the chart' }).waitFor();
  await patient.waitForFunction(
    (count) => document.querySelectorAll('table.trail tbody tr').length > count,
    before,
    { timeout: 15_000 },
  );
});

test('3. the patient grants the hospital clinician access, and the hospital clinician reads it', async () => {
  await patient.goto(`${practice}/#/sharing`);
  // The demo seeded a grant to the whole hospital: revoke it, so only the new grant decides.
  await patient
    .getByRole('button', { name: 'Revoke access for Organization/demo-hospital' })
    .click();
  await checkView(patient, '04-patient-revoke-dialog');
  await patient.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await patient.getByText('Revoked: Organization/demo-hospital').waitFor();
  await patient.getByLabel('A clinician or an organisation').fill('Practitioner/dr-grey');
  await patient.getByRole('button', { name: 'Next' }).click();
  await patient.getByRole('button', { name: 'Next' }).click();
  await patient
    .getByText(
      'dr-grey will be able to read all of your records, except anything marked psychiatry or substance-use treatment',
    )
    .waitFor();
  await checkView(patient, '05-patient-grant-preview');
  await patient.getByRole('button', { name: 'Sign and share' }).click();
  await patient.getByText(/^Granted\./).waitFor();
  await checkView(patient, '06-patient-sharing');

  grey = await person();
  await signIn(grey, hospital, 'clinician', 'dr-grey', `#/chart/${PATIENT}`);
  // The grant reaches the hospital through the shared chain; bounded generously for a loaded machine.
  await eventually(grey, '7.3 %', () => grey.reload(), 120);
  await grey
    .getByRole('button', { name: /^Verify Observation/ })
    .first()
    .click();
  await grey
    .getByText(/✓ verified: signed by key/)
    .first()
    .waitFor();
  await checkView(grey, '07-hospital-chart');
});

test('4. the patient revokes; the hospital clinician is refused, told why, and offered break-the-glass', async () => {
  await patient.reload();
  await patient.getByRole('button', { name: 'Revoke access for Practitioner/dr-grey' }).click();
  await patient.getByRole('dialog').getByText('Revoking cannot un-read.').waitFor();
  await patient.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await patient.getByText('Revoked: Practitioner/dr-grey').waitFor();

  await eventually(grey, 'You may not read this chart.', () => grey.reload(), 120);
  await checkView(grey, '08-hospital-refused');
  await grey
    .getByLabel('Reason')
    .fill('Unconscious in the emergency department, suspected overdose');
  await grey.getByRole('button', { name: 'Break the glass and open the chart' }).click();
  await grey.getByText(/has not opted in/).waitFor();

  await patient.getByRole('button', { name: 'Opt in to emergency access' }).click();
  await patient.getByText(/You have opted in/).waitFor();
  await grey.getByRole('button', { name: 'Break the glass and open the chart' }).click();
  await grey.getByText(/Emergency access \(break-the-glass\)/).waitFor();
  await grey.getByRole('cell', { name: '7.3 %' }).waitFor();
  await checkView(grey, '09-hospital-break-the-glass');
});

test('5. the patient sees every access, each with a green proof badge, and is notified of the break-the-glass', async () => {
  await patient.goto(`${practice}/#/access`);
  await patient.getByRole('table').waitFor();
  await eventually(patient, 'break-the-glass (emergency)', () => patient.reload());
  await patient
    .getByText('checking…')
    .first()
    .waitFor({ state: 'detached', timeout: 30_000 })
    .catch(() => undefined);
  const badges = patient.locator('td .badge');
  assert.ok((await badges.count()) > 5, 'the trail lists the accesses');
  assert.equal(await patient.locator('td .badge.bad').count(), 0, 'no proof failed');
  assert.equal(
    await patient.locator('td .badge.ok').count(),
    await badges.count(),
    'every row has a verified proof',
  );
  assert.ok(
    await patient.locator('tr', { hasText: 'dr-grey' }).first().isVisible(),
    'the hospital clinician is named',
  );
  await checkView(patient, '10-patient-access');
  await patient.goto(`${practice}/#/notifications`);
  const granted = patient
    .getByRole('listitem')
    .filter({ hasText: 'opened your record in an emergency' });
  assert.match(
    await granted.innerText(),
    /Reason: Unconscious in the emergency department, suspected overdose/,
  );
  await checkView(patient, '11-patient-notifications');

  // A node that proves a row against a log of its own making, signed by a key it made up, gets a red badge.
  await patient.route(/\/ledger\/trail\?/, async (route) => {
    const response = await route.fetch();
    const body = (await response.json()) as {
      entries: { entry: { txId: string }; proof: unknown }[];
    };
    body.entries[0]!.proof = forgedProof(body.entries[0]!.entry.txId);
    await route.fulfill({ response, json: body });
  });
  await patient.goto(`${practice}/#/access`);
  await patient.locator('td .badge.bad').first().waitFor();
  assert.equal(await patient.locator('td .badge.bad').count(), 1, 'only the forged row');
  await patient.unroute(/\/ledger\/trail\?/);
});

/** An inclusion proof of `txId` in a one-leaf log, under a tree head signed by a fresh key: well formed, and not of this ledger. */
function forgedProof(txId: string): unknown {
  const key = generateSigningKey();
  const leafHash = toHex(sha256(new TextEncoder().encode(txId)));
  const treeHead = signHeader(
    {
      height: 0,
      prevHash: '00'.repeat(32),
      time: Date.now(),
      txRoot: leafHash,
      logSize: 1,
      logRoot: leafHash,
      appHash: '00'.repeat(32),
      proposer: key.keyId,
    },
    key,
  );
  return { txId, leafIndex: 0, treeSize: 1, leafHash, inclusionProof: [], treeHead };
}

test('6. tampering with the stored tree head turns the banner red', async () => {
  await patient.evaluate((origin) => {
    const key = `chartchain:tree-head:${origin}`;
    const seen = JSON.parse(localStorage.getItem(key)!) as { logRoot: string };
    localStorage.setItem(key, JSON.stringify({ ...seen, logRoot: 'ab'.repeat(32) }));
  }, practice);
  await patient.reload();
  const banner = patient.locator('[data-ledger="failed"]');
  await banner.waitFor();
  assert.match(await banner.innerText(), /Ledger check failed/);
  await checkView(patient, '12-patient-tampered');
});

test('7. the hospital privacy officer sees the chain verified and reviews the break-the-glass', async () => {
  officer = await person();
  await signIn(officer, hospital, 'privacy officer', 'auditor-demo-hospital');
  await officer.locator('[data-chain="verified"]').waitFor();
  await checkView(officer, '13-auditor-dashboard');
  await officer.getByRole('link', { name: 'Blocks' }).click();
  await officer
    .getByRole('heading', { name: /^Block \d+/ })
    .first()
    .waitFor();
  await checkView(officer, '14-auditor-blocks');
  await officer.getByRole('link', { name: 'Break-the-glass reviews' }).click();
  await officer
    .getByText('Unconscious in the emergency department, suspected overdose')
    .first()
    .waitFor();
  await checkView(officer, '15-auditor-review');
  await officer.getByLabel(/^Note/).fill('Patient arrived unresponsive; access appropriate');
  await officer.getByRole('button', { name: 'Justified', exact: true }).click();
  await officer.getByText(/Reviewed .*: justified/).waitFor();
});

test("8. the patient erases a record and follows every organisation's receipt; the privacy officer tracks erasures, agreements and accesses", async () => {
  await patient.goto(`${practice}/#/erasure`);
  await patient
    .getByRole('button', { name: /^Erase Observation / })
    .first()
    .click();
  await patient.getByRole('dialog').getByText('This cannot be undone.').waitFor();
  await patient.getByRole('dialog').getByRole('button', { name: 'Erase' }).click();
  await patient.getByText(/is on the ledger\. Each organisation confirms/).waitFor();
  await eventually(patient, 'nobody: done', () => patient.reload(), 60);
  assert.match(
    await patient.getByRole('row').filter({ hasText: 'nobody: done' }).innerText(),
    /demo-hospital/,
    'the hospital confirmed too',
  );
  await checkView(patient, '17-patient-erasure');

  await officer.getByRole('link', { name: 'Erasures' }).click();
  await officer.getByText('none: complete').waitFor();
  await checkView(officer, '18-auditor-erasures');
  await officer.getByRole('link', { name: 'Agreements' }).click();
  await officer
    .getByRole('row')
    .filter({ hasText: 'demo-practice' })
    .filter({ hasText: 'demo-hospital' })
    .first()
    .waitFor();
  await checkView(officer, '19-auditor-agreements');
  await officer.getByRole('link', { name: 'Access search' }).click();
  await officer.getByLabel('User').fill('dr-grey');
  await officer.getByRole('button', { name: 'Search', exact: true }).click();
  await officer
    .getByRole('cell', { name: `Patient/${PATIENT}` })
    .first()
    .waitFor();
  assert.ok(
    (await officer.getByRole('row').filter({ hasText: 'refused' }).count()) > 0,
    'the refusals after the revoke are found too',
  );
  await checkView(officer, '20-auditor-access-search');
});

test('an expired session returns to sign-in and keeps what was typed; a node that is down is said in words', async () => {
  // An access token that expired is renewed once, however many requests the view makes at the
  // same time: a refresh token used twice would end the whole session.
  await clinician.goto(`${practice}/#/chart/${PATIENT}`);
  await clinician.getByRole('heading', { name: 'Add to the chart' }).waitFor();
  for (let round = 0; round < 2; round++) {
    await clinician.evaluate(() => {
      const session = JSON.parse(sessionStorage.getItem('chartchain:session')!) as Record<
        string,
        unknown
      >;
      sessionStorage.setItem(
        'chartchain:session',
        JSON.stringify({ ...session, accessToken: 'expired', expiresAt: 0 }),
      );
    });
    await clinician.reload();
    await clinician.getByRole('heading', { name: 'Add to the chart' }).waitFor();
    // The heading shows before the renewal answers; one still in flight would save fresh tokens
    // over the expired ones set below.
    await clinician.waitForFunction(
      () => !sessionStorage.getItem('chartchain:session')?.includes('"accessToken":"expired"'),
    );
  }
  assert.equal(await clinician.getByText('Your session has ended').count(), 0, 'still signed in');

  await clinician.getByRole('textbox', { name: 'Value' }).fill('123.4');
  await clinician.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem('chartchain:session')!) as Record<
      string,
      unknown
    >;
    sessionStorage.setItem(
      'chartchain:session',
      JSON.stringify({ ...session, accessToken: 'expired', refreshToken: 'expired', expiresAt: 0 }),
    );
  });
  await clinician.reload();
  await clinician.getByText('Your session has ended').waitFor();
  await clinician.getByRole('button', { name: /^Sign in as a clinician/ }).click();
  await clinician.fill('input[name=username]', 'dr-ada');
  await clinician.fill('input[name=password]', 'chartchain-demo');
  await clinician.click('button[type=submit]');
  await clinician.getByRole('heading', { name: 'Add to the chart' }).waitFor();
  assert.equal(
    await clinician.getByRole('textbox', { name: 'Value' }).inputValue(),
    '123.4',
    'the draft survived the sign-in',
  );

  await clinician.route('**/fhir/**', (route) => route.abort('connectionrefused'));
  await clinician.reload();
  await clinician.getByText('The ChartChain node is not answering').waitFor();
  await checkView(clinician, '16-node-down');
  await clinician.unroute('**/fhir/**');
});

test('everything works from the keyboard: skip link, navigation, and a dialog that Escape closes', async () => {
  await patient.goto(`${practice}/#/records`);
  await patient.keyboard.press('Tab');
  assert.equal(
    await patient.evaluate(() => document.activeElement?.textContent),
    'Skip to content',
  );
  for (let i = 0; i < 3; i++) await patient.keyboard.press('Tab');
  assert.equal(await patient.evaluate(() => document.activeElement?.textContent), 'Sharing');
  await patient.keyboard.press('Enter');
  await patient.getByRole('heading', { name: 'Sharing', level: 1 }).waitFor();
  const wizard = patient.getByLabel('A clinician or an organisation');
  await wizard.focus();
  await patient.keyboard.type('Organization/demo-hospital');
  await patient.keyboard.press('Tab');
  await patient.keyboard.press('Enter');
  await patient.getByText('Step 2 of 3').waitFor();

  await patient.goto(`${practice}/#/erasure`);
  const erase = patient.getByRole('button', { name: /^Erase / }).first();
  await erase.focus();
  await patient.keyboard.press('Enter');
  await patient.getByRole('dialog').waitFor();
  assert.equal(
    await patient.evaluate(() => document.activeElement?.closest('[role="dialog"]') !== null),
    true,
    'focus moves into the dialog',
  );
  await patient.keyboard.press('Escape');
  await patient.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal(
    await erase.evaluate((button) => button === document.activeElement),
    true,
    'focus returns to the button that opened it',
  );
});
