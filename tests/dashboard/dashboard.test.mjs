// Drives the live web dashboard in headless chromium (Debian's, through playwright-core: no browser download).
// Run by DashboardBrowserTests, which starts a real `wavfusion serve` and, once this script prints "ready", a real
// client streaming a file. The script checks, step by step, what a person at the dashboard would see:
//   the page asks for a key; a push-only key is refused; the watch key connects (and stays out of the URL and of
//   localStorage); the streaming session appears live; its chart gains points, interim and final; latency and
//   modalities show; when the stream ends the session is marked ended and its summary shows.
// Environment: DASHBOARD_URL, WATCH_KEY, PUSH_KEY, SESSION_LABEL, CHROMIUM (executable), SCREENSHOT (optional
// path), STEP_TIMEOUT_MS (default 60000). Prints one line per step; exits 1 with "FAIL: ..." on the first failure.
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`FAIL: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const url = env('DASHBOARD_URL');
const watchKey = env('WATCH_KEY');
const pushKey = env('PUSH_KEY');
const label = env('SESSION_LABEL');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
const screenshot = process.env.SCREENSHOT || '';
const timeout = Number(env('STEP_TIMEOUT_MS', '60000'));

const log = (line) => console.log(line);
const pageErrors = [];
const started = Date.now();
const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

// Root in a container has no user namespaces for chromium's sandbox.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  // A failed request of the page's own (a 401 before the key is typed is expected) is logged by chromium as a console
  // error; only script errors count as failures.
  const failIfScriptErrors = () => {
    const real = pageErrors.filter((e) => !/status of (401|403)/.test(e));
    if (real.length) throw new Error(`the page logged errors: ${real.join(' | ')}`);
  };

  await page.goto(url);
  const state = () => page.locator('#conn').getAttribute('data-state');
  await page.waitForFunction(() => document.querySelector('#conn').dataset.state === 'error');
  log(`asks for a key: "${await page.locator('#conn-text').textContent()}" (${at()})`);

  await page.fill('#key', pushKey);
  await page.click('#connect');
  await page.waitForFunction(() => /lacks/.test(document.querySelector('#conn-text').textContent));
  log(`push-only key refused: "${await page.locator('#conn-text').textContent()}" (${at()})`);

  await page.fill('#key', watchKey);
  await page.click('#connect');
  await page.waitForFunction(() => document.querySelector('#conn').dataset.state === 'live');
  if (page.url().includes(watchKey)) throw new Error(`the key is in the URL: ${page.url()}`);
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.getItem('wavfusion.watchKey') }));
  if (stored.local !== 0) throw new Error('the page wrote to localStorage');
  if (stored.session !== watchKey) throw new Error('the key is not kept for the tab (sessionStorage)');
  if ((await page.locator('#key').inputValue()) !== '') throw new Error('the key stays visible in the input');
  log(`connected: ${await state()} (${at()})`);
  console.log('ready');

  const row = page.locator('#session-list li', { has: page.locator('.label', { hasText: label }) });
  await row.waitFor();
  const sessionId = await row.getAttribute('data-session-id');
  log(`session appeared: ${sessionId} "${label}" (${at()})`);
  await row.click();
  await page.waitForFunction((id) => document.querySelector(`#session-list li[data-session-id="${id}"]`)?.getAttribute('aria-selected') === 'true', sessionId);

  const points = () => page.locator('#chart').getAttribute('data-points').then(Number);
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) > 0);
  const first = await points();
  log(`chart has points: ${first} (${at()})`);
  await page.waitForFunction((n) => Number(document.querySelector('#chart').dataset.points) > n, first);
  log(`chart gained points: ${first} -> ${await points()} (${at()})`);
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.finalPoints) > 0
    && Number(document.querySelector('#chart').dataset.interimPoints) > 0);
  log(`final and interim points: ${await page.locator('#chart').getAttribute('data-final-points')} final, ${await page.locator('#chart').getAttribute('data-interim-points')} interim (${at()})`);

  const latency = await page.locator('#t-latency').textContent();
  if (!/^\d+ \/ \d+ ms$/.test(latency)) throw new Error(`latency tile shows "${latency}"`);
  const audio = await page.locator('#t-modalities .chip', { hasText: 'audio' }).getAttribute('data-state');
  if (audio !== 'present') throw new Error(`the audio modality chip is "${audio}"`);
  const top = (await page.locator('#t-top').textContent()).trim();
  if (!top || top === '—') throw new Error('no current emotion shown');
  log(`tiles: latency ${latency}, audio ${audio}, now "${top}", dropped ${await page.locator('#t-dropped').textContent()}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // The stream ends by itself: the session is marked ended live and its summary shows.
  await page.waitForFunction((id) => document.querySelector(`#session-list li[data-session-id="${id}"]`)?.dataset.ended === 'true', sessionId);
  await page.locator('#summary').waitFor({ state: 'visible' });
  const ended = await page.locator('#d-state').textContent();
  log(`session ended: "${ended}", summary: ${(await page.locator('#summary-list').innerText()).replace(/\s+/g, ' ')} (${at()})`);
  const finalPoints = await points();
  failIfScriptErrors();
  if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '-ended.png'), fullPage: true });
  console.log(`ok ${JSON.stringify({ sessionId, firstPoints: first, finalPoints, latency })}`);
} catch (e) {
  console.log(`FAIL: ${e.message.split('\n')[0]}`);
  if (page && screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '-failed.png'), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
