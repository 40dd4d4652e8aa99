// The reviewer's page: one task at a time, answered with the keyboard or the buttons.
//
// The next task is leased and its image loaded while the reviewer looks at the current one
// (GET /v1/review/next?besides=<current>), so an answer shows the next image at once. Answers,
// undo and prefetches run one after another in a single chain, so the server always sees them
// in the order the reviewer gave them.
'use strict';

const state = {classes: [], current: null, next: null, lastAnswered: null};
// For tests and curious reviewers: what is on screen, and how long the last switch took.
window.reviewState = {ready: false, taskId: null, captureId: null, shown: 0, done: 0, left: 0,
                      keyAt: null, lastSwitchMs: null, blind: false, error: null};
let chain = Promise.resolve();

const $ = id => document.getElementById(id);

async function api(method, path, body) {
  const options = {method, credentials: 'same-origin', headers: {'X-Steadyeye-CSRF': '1'}};
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    location.href = '/login?next=/review';
    throw new Error('not logged in');
  }
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ? json.error.message : 'HTTP ' + response.status);
  return json;
}

function counts(json) {
  if (json.done_by_you !== undefined) window.reviewState.done = json.done_by_you;
  if (json.open !== undefined) window.reviewState.left = json.open;
  $('done').textContent = window.reviewState.done;
  $('left').textContent = window.reviewState.left;
}

function text(tag, className, content) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.textContent = content;
  return element;
}

function preload(task) {
  if (task) new Image().src = task.image;
}

function show(task) {
  state.current = task;
  const s = window.reviewState;
  s.taskId = task ? task.id : null;
  s.captureId = task ? task.capture_id : null;
  s.blind = task ? task.blind : false;
  $('image').hidden = !task;
  $('empty').hidden = !!task;
  $('quality').replaceChildren();
  $('suggestions').replaceChildren();
  for (const id of ['site', 'camera', 'time', 'kind']) $(id).textContent = '';
  if (!task) return;
  s.shown++;
  // From the reviewer's key press to the next image drawn (prefetched: usually from the cache).
  const pressed = s.keyAt;
  $('image').onload = () => {
    if (pressed !== null) s.lastSwitchMs = performance.now() - pressed;
  };
  $('image').src = task.image;
  $('site').textContent = task.site;
  $('camera').textContent = task.camera;
  $('time').textContent = task.time.replace('T', ' ').replace('Z', ' UTC');
  $('kind').textContent = task.second_opinion ? 'second opinion (blind)'
                          : task.blind ? 'audit (blind)' : task.kind;
  const flags = task.quality.flags || [];
  if (flags.length === 0) $('quality').append(text('div', 'ok', 'image quality: fine'));
  for (const f of flags) $('quality').append(text('div', 'flag', f.cause || f.reason));
  if (!task.blind && task.suggestions) {
    $('suggestions').append(text('div', 'caption', 'the model suggests'));
    for (const g of task.suggestions) {
      const row = document.createElement('div');
      row.className = 's';
      row.append(text('span', '', g.label), text('span', '', (100 * g.probability).toFixed(1) + '%'));
      const bar = text('div', 'bar', '');
      bar.style.width = (100 * g.probability).toFixed(1) + '%';
      $('suggestions').append(row, bar);
    }
  }
}

function buildClassButtons(classes) {
  state.classes = classes;
  const box = $('classes');
  box.replaceChildren();
  classes.forEach((name, i) => {
    const button = text('button', '', name);
    const key = i < 9 ? String(i + 1) : i === 9 ? '0' : '';
    if (key) button.append(text('kbd', '', key));
    button.addEventListener('click', () => enqueue(() => answer(name)));
    box.append(button);
  });
}

async function prefetch() {
  state.next = null;
  if (!state.current) return;
  const json = await api('GET', '/v1/review/next?besides=' + state.current.id);
  state.next = json.task;
  preload(state.next);
  counts(json);
}

let polling = null;

async function load() {
  const json = await api('GET', '/v1/review/next');
  if (state.classes.length === 0) buildClassButtons(json.classes);
  counts(json);
  show(json.task);
  // An empty queue fills as the line runs: look again every few seconds.
  if (!json.task && polling === null) {
    polling = setTimeout(() => { polling = null; enqueue(load); }, 5000);
  }
  await prefetch();
}

async function answer(value) {
  const task = state.current;
  if (!task) return load();
  show(state.next);
  const json = await api('POST', '/v1/review/' + task.id + '/answer', {answer: value});
  state.lastAnswered = task.id;
  counts(json);
  if (state.current) return prefetch();
  return load();  // the queue looked empty: new tasks may have come in meanwhile
}

async function undo() {
  if (state.lastAnswered === null) throw new Error('nothing to undo');
  const json = await api('POST', '/v1/review/' + state.lastAnswered + '/undo');
  state.lastAnswered = null;
  state.next = state.current;  // still leased to this reviewer: it comes back after this one
  show(json.task);
  counts(json);
}

function enqueue(step) {
  $('message').textContent = '';
  chain = chain.then(step).catch(error => {
    window.reviewState.error = error.message;
    $('message').textContent = error.message;
    return load().catch(() => {});
  });
  return chain;
}

document.addEventListener('keydown', event => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const k = event.key;
  let step = null;
  if (/^[0-9]$/.test(k)) {
    const index = k === '0' ? 9 : Number(k) - 1;
    if (index < state.classes.length) step = () => answer(state.classes[index]);
  } else if (k === 'b') {
    step = () => answer('bad_image');
  } else if (k === 'n') {
    step = () => answer('new_item');
  } else if (k === 's') {
    step = () => answer('skip');
  } else if (k === 'z') {
    step = undo;
  }
  if (step) {
    window.reviewState.keyAt = performance.now();
    event.preventDefault();
    enqueue(step);
  }
});

for (const button of document.querySelectorAll('#others button[data-answer]')) {
  button.addEventListener('click', () => enqueue(() => answer(button.dataset.answer)));
}
$('undo').addEventListener('click', () => enqueue(undo));

enqueue(load).then(() => { window.reviewState.ready = true; });
