// Debian's Chromium, headless, through playwright-core (never a downloaded browser). The flags
// keep it from reaching out to the network, which the test machines do not allow.
import { createRequire } from 'node:module';
import path from 'node:path';

export async function launchChromium() {
  const require = createRequire(path.join(process.env.SEYE_WEB_DIR, 'package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Collects script errors and console errors of a page.
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  return errors;
}

export function fail(message) {
  console.error('FAIL: ' + message);
  process.exitCode = 1;
}

// Opens a report page written by the binary and waits until its charts are drawn.
export async function openReport(browser, pagePath) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const errors = collectErrors(page);
  await page.goto('file://' + pagePath);
  await page.waitForFunction(() => window.reportRendered !== undefined, null, { timeout: 30000 });
  return { page, errors };
}

// Coloured (non-white, non-transparent) pixels in each chart's main canvas (ECharts adds empty
// layers for hover effects): a drawn chart has many. Runs in the page.
export function inkedCharts() {
  return [...document.querySelectorAll('.chart')].map(div => div.querySelector('canvas')).map(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
    return n;
  });
}
