// Opens a robustness report written by the real binary in Debian's Chromium (headless, driven by
// playwright-core) and checks that it renders: no script errors, every chart drawn with
// content, the summary filled in. Saves a screenshot as a test artifact.
//
//   node robustness_report.mjs REPORT/index.html SCREENSHOT.png   (SEYE_WEB_DIR = web/ folder)
import path from 'node:path';
import { fail, inkedCharts, launchChromium, openReport } from './chromium.mjs';

const [pagePath, screenshot] = process.argv.slice(2);

const browser = await launchChromium();
try {
  const { page, errors } = await openReport(browser, path.resolve(pagePath));
  const state = await page.evaluate(() => ({
    charts: window.reportRendered,
    summaryRows: document.querySelectorAll('#summary tr').length,
    diffShown: !document.getElementById('diff-title').hidden,
  }));
  state.inked = await page.evaluate(inkedCharts);
  if (errors.length) fail('script errors: ' + errors.join(' | '));
  if (state.charts !== 5) fail(`expected 5 charts (2 heat maps, 2 curves, 1 difference), got ${state.charts}`);
  if (state.summaryRows !== 3) fail(`expected a header and 2 model rows in the summary, got ${state.summaryRows}`);
  if (!state.diffShown) fail('difference section hidden for two models');
  if (state.inked.length < 5 || state.inked.some(n => n < 2000)) fail('a chart looks empty: ' + JSON.stringify(state.inked));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`report rendered: ${state.charts} charts, inked pixels ${JSON.stringify(state.inked)}; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
