// The reviewer page in Debian's Chromium (headless, driven by playwright-core): 30 images are
// sent as a client would; the reviewer logs in through the form, answers 20 tasks with the
// keyboard, undoes one and answers it again; then the store, read through the API, must hold
// exactly those answers and the queue must be 20 tasks shorter. Saves a screenshot.
//
//   node review_ui.mjs SERVER_URL IMAGES_DIR SCREENSHOT.png   (SEYE_WEB_DIR = web/ folder;
//   tokens in SEYE_REVIEWER_TOKEN, SEYE_CLIENT_TOKEN, SEYE_ADMIN_TOKEN)
import fs from 'node:fs';
import path from 'node:path';
import { collectErrors, fail, launchChromium } from './chromium.mjs';

const [server, imagesDir, screenshot] = process.argv.slice(2);
const env = process.env;

async function api(token, method, route, body, type) {
  const response = await fetch(server + route, {
    method, body,
    headers: { Authorization: 'Bearer ' + token, ...(type ? { 'Content-Type': type } : {}) },
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

// 30 images from the fixture's class folders, in a fixed order.
const files = fs.readdirSync(imagesDir, { recursive: true })
  .filter(f => f.endsWith('.png')).sort().slice(0, 30);
for (const f of files) {
  await api(env.SEYE_CLIENT_TOKEN, 'POST', '/v1/predict?site=plant-a&camera=line-1',
            fs.readFileSync(path.join(imagesDir, f)), 'image/png');
}
const before = await api(env.SEYE_ADMIN_TOKEN, 'GET', '/v1/review/stats');
if (before.open !== 30) fail(`expected 30 open tasks after 30 kept captures, got ${before.open}`);

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors = collectErrors(page);

  // Not logged in: the page sends the browser to the form.
  await page.goto(server + '/review');
  if (!page.url().includes('/login')) fail('an anonymous visit was not sent to /login: ' + page.url());
  await page.fill('#token', env.SEYE_REVIEWER_TOKEN);
  await Promise.all([page.waitForURL('**/review'), page.click('button[type=submit]')]);
  const cookies = await page.context().cookies();
  const session = cookies.find(c => c.name === 'seye_token');
  if (!session || !session.httpOnly || session.sameSite !== 'Strict') {
    fail('session cookie is not HttpOnly + SameSite=Strict: ' + JSON.stringify(session));
  }
  await page.waitForFunction(() => window.reviewState && window.reviewState.ready, null, { timeout: 30000 });

  const fits = await page.evaluate(() => ({
    scroll: document.documentElement.scrollHeight <= window.innerHeight &&
            document.documentElement.scrollWidth <= window.innerWidth,
    buttons: document.querySelectorAll('#classes button').length,
    imageWidth: document.getElementById('image').getBoundingClientRect().width,
  }));
  if (!fits.scroll) fail('the page scrolls at 1366x768');
  if (fits.buttons !== 10) fail(`expected 10 class buttons, got ${fits.buttons}`);
  if (fits.imageWidth < 300) fail(`the image is shown small (${fits.imageWidth}px wide)`);

  // Answers by key: digits for classes, b bad image, n new item (no skips: they stay in the queue).
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'b', 'n', '1', '2', '3', '4', '5', '6', '7', '8'];
  const classes = await page.evaluate(() => [...document.querySelectorAll('#classes button')]
    .map(b => b.firstChild.textContent));
  const answerOf = k => k === 'b' ? 'bad_image' : k === 'n' ? 'new_item' : classes[k === '0' ? 9 : Number(k) - 1];
  const given = new Map();  // capture id -> answer
  const switches = [];
  let blind = 0, blindWithSuggestions = 0;
  const onScreen = () => page.evaluate(() => ({
    task: window.reviewState.taskId, capture: window.reviewState.captureId,
    blind: window.reviewState.blind, suggestions: document.querySelectorAll('#suggestions .s').length }));
  for (let i = 0; i < keys.length; i++) {
    const shown = await onScreen();
    if (shown.task === null) { fail(`the queue ran dry after ${i} answers`); break; }
    if (shown.blind) { blind++; if (shown.suggestions > 0) blindWithSuggestions++; }
    given.set(shown.capture, answerOf(keys[i]));
    await page.evaluate(() => { window.reviewState.lastSwitchMs = null; });
    await page.keyboard.press(keys[i]);
    await page.waitForFunction(id => window.reviewState.taskId !== id, shown.task, { timeout: 10000 });
    // In the page: from the key press to the next image drawn.
    const ms = await page.waitForFunction(() => window.reviewState.lastSwitchMs, null, { timeout: 10000 });
    switches.push(await ms.jsonValue());
  }
  // Undo the last answer: its task is back on screen. Answer it again, differently.
  const last = [...given.keys()].pop();
  await page.keyboard.press('z');
  await page.waitForFunction(c => window.reviewState.captureId === c, last, { timeout: 10000 });
  await page.keyboard.press('9');
  await page.waitForFunction(c => window.reviewState.captureId !== c, last, { timeout: 10000 });
  given.set(last, answerOf('9'));
  await page.waitForFunction(() => window.reviewState.done === 20 && window.reviewState.left === 10,
                             null, { timeout: 10000 });
  await page.screenshot({ path: screenshot });
  if (errors.length) fail('script errors: ' + errors.join(' | '));
  if (blindWithSuggestions > 0) fail(`${blindWithSuggestions} audit tasks showed the model's suggestions`);

  // The store, read through the API: each answer on its capture, and 20 tasks out of the queue.
  for (const [capture, answer] of given) {
    const c = await api(env.SEYE_ADMIN_TOKEN, 'GET', `/v1/captures/${capture}`);
    if (!c.review || c.review.label !== answer || c.review.reviewer !== 'rita') {
      fail(`capture ${capture}: expected ${answer} by rita, stored ${JSON.stringify(c.review)}`);
    }
  }
  if (given.size !== 20) fail(`expected 20 distinct captures answered, got ${given.size}`);
  const after = await api(env.SEYE_ADMIN_TOKEN, 'GET', '/v1/review/stats');
  if (after.open !== 10 || after.done !== 20) fail('queue after: ' + JSON.stringify(after));
  switches.sort((x, y) => x - y);
  console.log(`review page: 20 answers + 1 undo by keyboard, ${blind} blind audit tasks; ` +
              `next image drawn after a key press: median ${switches[10].toFixed(1)} ms, ` +
              `max ${switches[switches.length - 1].toFixed(1)} ms; ` +
              `screenshot ${screenshot}`);
} finally {
  await browser.close();
}
