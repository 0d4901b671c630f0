// Drives the Muster dashboard in Debian's headless Chromium through playwright-core:
// sign in, open the overview, open the blocked run, approve it, start an apply, see the
// approved actions done, open a person and the audit. Screenshots go to <screenshot-dir>.
//
//   node tests/e2e/dashboard.mjs <base-url> <screenshot-dir>
//
// Sign-in is one function, `signIn(page)`: it goes to /login, which sends the browser to the
// OpenID Connect provider the test started (tests/oidc/provider.mjs), fills in its login form
// as MUSTER_LOGIN (and its consent form), and follows it back to the dashboard, signed in.
// Only 127.0.0.1 is reached (other requests, like the provider page's web font, are aborted).
// Every wait is bounded; any failure exits with status 1.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node dashboard.mjs <base-url> <screenshot-dir>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const TIMEOUT = 15_000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

/**
 * Signs in through the provider as `login`, starting at /login?next=/, and ends on the
 * overview. The provider's development login takes any password.
 */
async function signIn(page, login) {
  await page.goto(`${base}/login?next=%2F`);
  const form = page.locator('form:has(input[name="prompt"][value="login"])');
  await form.waitFor();
  const at = new URL(page.url());
  check(at.origin !== new URL(base).origin && at.pathname.startsWith('/interaction/'),
    `/login sends the browser to the provider's sign-in page (${at.origin})`);
  await form.locator('input[name="login"]').fill(login);
  await form.locator('input[name="password"]').fill('any password');
  await shot(page, 'sign-in');
  await form.locator('button[type="submit"]').click();
  // The provider asks for consent the first time this client wants the scopes.
  const consent = page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
  const overview = page.locator('h1', { hasText: 'Overview' });
  await consent.or(overview).first().waitFor();
  if (await consent.count()) {
    console.log('(the provider asks for consent)');
    await consent.click();
  }
  await page.waitForURL(`${base}/`);
  const cookies = await page.context().cookies(base);
  const session = cookies.find((c) => c.name === 'muster_session');
  check(session && session.httpOnly && session.sameSite === 'Lax', 'the callback set an HttpOnly, SameSite=Lax session cookie');
}

/** A screenshot of the viewport, scrolled to `selector` when given (full pages of a run are long). */
async function shot(page, name, selector) {
  if (selector) await page.locator(selector).first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, `${name}.png`), timeout: 60_000 });
}

/** Reloads `url` (every 500 ms, at most 60 s) until `test(page)` holds. */
async function poll(page, url, test, what) {
  for (let i = 0; i < 120; i++) {
    await page.goto(url);
    if (await test(page)) return;
    await page.waitForTimeout(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  // Tests reach 127.0.0.1 only.
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // Not signed in: the dashboard sends the browser to /login with the page to come back to.
  const anon = await page.request.get(`${base}/audit?person=x`, { maxRedirects: 0 });
  const to = new URL(anon.headers()['location'] || '/', base);
  check(anon.status() === 303 && to.pathname === '/login', 'without a session the dashboard redirects to /login');
  check(to.searchParams.get('next') === '/audit?person=x', 'the redirect keeps the page as next');

  const login = process.env.MUSTER_LOGIN;
  if (!login) throw new Error('MUSTER_LOGIN (an account of tests/oidc/provider.mjs) is not set');
  await signIn(page, login);
  check((await page.locator('h1').innerText()) === 'Overview', 'the overview opens');
  const who = process.env.MUSTER_SIGNED_IN_AS || '';
  check(who && (await page.locator('header .who').innerText()).includes(who), `the header names the signed-in user and role (${who})`);
  const waiting = page.locator('#waiting tbody tr');
  check((await waiting.count()) === 1, 'one blocked action type waits');
  check((await waiting.first().innerText()).includes('create'), 'the blocked type is create');
  check((await page.locator('#targets tr[data-target="scim"]').innerText()).includes('blocked'), 'the target shows the blocked status');
  await shot(page, 'overview');

  await waiting.first().locator('a', { hasText: 'decide' }).click();
  await page.waitForURL(/\/runs\//);
  const runUrl = page.url().split('#')[0];
  check((await page.locator('#blocked-actions').innerText()).includes('waiting'), 'the run shows the block waiting');
  const form = page.locator('form.decide[data-kind="create"]');
  await form.locator('textarea[name="reason"]').fill('New school year: the creates are expected.');
  await shot(page, 'run-blocked', '#blocked');
  await form.locator('button[value="approve"]').click();
  await page.locator('#blocked-actions .badge.approved').waitFor();
  const decided = await page.locator('#blocked-actions').innerText();
  check(decided.includes('approved') && decided.includes('New school year'), 'the approval is shown with its reason');
  await shot(page, 'run-approved', '#blocked');

  // An admin starts the apply that carries the approved creates out.
  await page.goto(`${base}/`);
  await page.locator('#trigger select[name="mode"]').selectOption('apply');
  await page.locator('#trigger select[name="target"]').selectOption('scim');
  await page.locator('#trigger button[type="submit"]').click();
  await page.waitForURL(`${base}/`);
  const firstRun = new URL(runUrl).pathname;
  await poll(page, `${base}/`, async (p) => {
    const row = p.locator('#runs tbody tr').first();
    const text = await row.innerText();
    const href = await row.locator('a').getAttribute('href');
    return href !== firstRun && text.includes('changes');
  }, 'the apply to end with changes');
  check(!(await page.locator('#waiting').count()), 'nothing waits any more');
  await shot(page, 'overview-applied');

  await page.locator('#runs tbody tr').first().locator('a').click();
  await page.waitForURL(/\/runs\//);
  await page.locator('#filter select[name="kind"]').selectOption('create');
  await page.locator('#filter select[name="state"]').selectOption('done');
  await page.locator('#filter button').click();
  await page.waitForURL(/kind=create/);
  const rows = page.locator('#actions tbody tr');
  const n = await rows.count();
  check(n > 0, `the apply did ${n} create(s)`);
  check(await rows.evaluateAll((rs) => rs.every((r) => r.dataset.kind === 'create' && r.dataset.state === 'done')),
    'the filter shows only done creates');
  check((await rows.first().locator('td').nth(4).innerText()).trim().length > 0, 'a done create shows the account it made');
  check((await rows.first().innerText()).includes('title: — → ***'), 'a secret value shows as ***');
  await shot(page, 'run-applied');

  await rows.first().locator('a').first().click();
  await page.waitForURL(/\/people\//);
  check((await page.locator('#accounts').innerText()).includes('scim'), 'the person has an account in scim');
  check((await page.locator('#audit').innerText()).includes('create'), 'the person\'s audit trail shows the create');
  await shot(page, 'person');

  await page.goto(`${base}/audit?action=create&outcome=done&limit=20`);
  check((await page.locator('#audit tbody tr').count()) > 0, 'the audit search finds the creates');
  await shot(page, 'audit');
  await page.goto(`${base}/plans/scim`);
  await shot(page, 'plan');
  await page.goto(`${base}/reports`);
  await shot(page, 'reports');
  check(errors.length === 0, `no script errors on the pages (${errors.join('; ')})`);
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
