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
