// Opens a production-accuracy report written by the real binary in Debian's Chromium and checks
// that it renders: no script errors, the summary filled in, every chart drawn with content.
//
//   node production_report.mjs REPORT/index.html SITES SCREENSHOT.png   (SEYE_WEB_DIR = web/)
import path from 'node:path';
import { fail, inkedCharts, launchChromium, openReport } from './chromium.mjs';

const [pagePath, sites, screenshot] = process.argv.slice(2);
const browser = await launchChromium();
try {
  const { page, errors } = await openReport(browser, path.resolve(pagePath));
  const state = await page.evaluate(() => ({
    charts: window.reportRendered,
    rows: document.querySelectorAll('#summary tr').length,
  }));
  state.inked = await page.evaluate(inkedCharts);
  if (errors.length) fail('script errors: ' + errors.join(' | '));
  const expected = Number(sites) + 1;  // accuracy per site, and rates for all
  if (state.charts !== expected) fail(`expected ${expected} charts, got ${state.charts}`);
  if (state.rows !== Number(sites) + 1) fail(`expected a header and ${sites} site rows, got ${state.rows}`);
  if (state.inked.some(n => n < 1000)) fail('a chart looks empty: ' + JSON.stringify(state.inked));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`production report rendered: ${state.charts} charts; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
