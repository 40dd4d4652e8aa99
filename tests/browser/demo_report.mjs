// Opens the report of a real `steadyeye demo` run in Debian's Chromium (headless, driven by
// playwright-core) and checks that it renders: no script errors, five charts per site drawn with
// content, the targets and per-site tables filled in, each judged challenger with its shadow
// scores. Saves a screenshot as a test artifact.
//
//   node demo_report.mjs DEMO/report.html SCREENSHOT.png   (SEYE_WEB_DIR = web/ folder)
import path from 'node:path';
import { fail, inkedCharts, launchChromium, openReport } from './chromium.mjs';

const [pagePath, screenshot] = process.argv.slice(2);

const browser = await launchChromium();
try {
  const { page, errors } = await openReport(browser, path.resolve(pagePath));
  const state = await page.evaluate(() => ({
    charts: window.reportRendered,
    targetRows: document.querySelectorAll('#targets tr').length,
    summaryRows: document.querySelectorAll('#summary tr').length,
    promotionRows: document.querySelectorAll('#promotion tr').length,
    // Each judged challenger's row says what it was scored on in the shadow.
    judged: [...document.querySelectorAll('#actions tr')]
      .filter(row => /^(promoted|refused)/.test(row.querySelector('td.outcome')?.textContent || ''))
      .map(row => row.querySelector('td.shadow').textContent),
  }));
  state.inked = await page.evaluate(inkedCharts);
  if (errors.length) fail('script errors: ' + errors.join(' | '));
  if (state.charts !== 20) fail(`expected 20 charts (5 per site, 4 sites), got ${state.charts}`);
  if (state.targetRows !== 3) fail(`expected a header and 2 policies in the targets, got ${state.targetRows}`);
  if (state.summaryRows !== 9) fail(`expected a header and 8 site-policy rows, got ${state.summaryRows}`);
  if (state.promotionRows < 5) fail(`expected a row per site and shift, got ${state.promotionRows - 1}`);
  if (!state.judged.length) fail('no judged challenger in the actions table');
  const unscored = state.judged.filter(cell => !/^\d+ live images, [\d.]+% agreed$/.test(cell));
  if (unscored.length) fail('judged challengers without their shadow scores: ' + JSON.stringify(unscored));
  // The bar charts of a quiet site may be nearly blank; the line charts never are.
  const lines = state.inked.filter((_, i) => i % 5 < 3);
  if (state.inked.length !== 20 || lines.some(n => n < 2000)) fail('a chart looks empty: ' + JSON.stringify(state.inked));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`demo report rendered: ${state.charts} charts, inked pixels ${JSON.stringify(state.inked)}; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
