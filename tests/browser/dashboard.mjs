// The operator's dashboard in Debian's Chromium (headless, driven by playwright-core): the
// server has seen a replayed stream whose camera went dark halfway; the operator logs in, the
// page must list that alert with its cause and action, draw every chart, and show no script
// errors. Saves a screenshot.
//
//   node dashboard.mjs SERVER_URL SCREENSHOT.png   (SEYE_WEB_DIR = web/ folder; the operator's
//   token in SEYE_OPERATOR_TOKEN)
import { collectErrors, fail, inkedCharts, launchChromium } from './chromium.mjs';

const [server, screenshot] = process.argv.slice(2);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const errors = collectErrors(page);
  await page.goto(server + '/dashboard');
  if (!page.url().includes('/login')) fail('an anonymous visit was not sent to /login: ' + page.url());
  await page.fill('#token', process.env.SEYE_OPERATOR_TOKEN);
  await Promise.all([page.waitForURL('**/dashboard'), page.click('button[type=submit]')]);
  await page.waitForFunction(() => window.dashboardState && (window.dashboardState.drawn > 0 ||
                                                             window.dashboardState.error),
                             null, { timeout: 30000 });
  const state = await page.evaluate(() => window.dashboardState);
  if (state.error) fail('the dashboard could not load its data: ' + state.error);
  if (state.streams !== 1) fail(`expected 1 stream, got ${state.streams}`);
  if (state.drawn !== 3) fail(`expected 3 charts for the stream, got ${state.drawn}`);
  const alerts = await page.textContent('#alerts');
  if (!alerts.includes('plant-d / default')) fail('the alert of plant-d is not listed: ' + alerts);
  if (!alerts.includes('images darkened')) fail('the alert does not say its cause: ' + alerts);
  if (!alerts.includes('check the lamps')) fail('the alert does not say what to do: ' + alerts);
  const badge = await page.textContent('.stream h3');
  if (!badge.includes('alert open')) fail('the stream does not show its open alert: ' + badge);
  const inked = await page.evaluate(inkedCharts);
  inked.forEach((n, i) => { if (n < 2000) fail(`chart ${i} looks empty (${n} coloured pixels)`); });
  await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) fail('script errors: ' + errors.join('; '));
  console.log(`dashboard: ${state.streams} stream, ${state.alerts} alerts, charts inked ${inked.join(', ')}`);
} finally {
  await browser.close();
}
