// The operator's dashboard: every monitored (site, camera) stream with its accuracy (audit and
// label-free), review and bad-image rates, drift score and quality over time, alerts on the same
// time axis, and the alert list. Reads the API with the session cookie; redraws every 10 s.
'use strict';

async function get(route) {
  const response = await fetch(route, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
  return response.json();
}

const pct = v => v === null || v === undefined ? 'n/a' : (100 * v).toFixed(1) + '%';
const text = s => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function renderAlerts(alerts) {
  const rows = alerts.map(a => `<tr class="${text(a.state)}"><td>${text(a.state)}</td>` +
    `<td>${text(a.site)} / ${text(a.camera)}</td><td>${text(a.onset)}</td>` +
    `<td>${a.resolved ? text(a.resolved) : ''}</td><td>${text(a.cause)}</td>` +
    `<td>${text(a.action)}</td><td>${pct(a.accuracy_impact)}</td>` +
    `<td>${a.decisions ?? (a.tightened ? 'suspended' : 'unchanged')}</td></tr>`);
  document.getElementById('alerts').innerHTML =
    '<tr><th>state</th><th>site / camera</th><th>onset</th><th>resolved</th><th>cause</th>' +
    '<th>action</th><th>accuracy impact</th><th>automatic decisions</th></tr>' +
    (rows.length ? rows.join('') : '<tr><td colspan="8">no alerts</td></tr>');
}

// Shaded spans while each of the stream's alerts was open, for every chart's time axis.
function alertAreas(alerts, stream) {
  return alerts.filter(a => a.site === stream.site && a.camera === stream.camera)
    .map(a => [{ xAxis: a.onset, name: a.reason }, { xAxis: a.resolved || new Date().toISOString() }]);
}

const charts = new Map();
function draw(id, parent, option) {
  let div = document.getElementById(id);
  if (!div) {
    div = document.createElement('div');
    div.className = 'chart';
    div.id = id;
    parent.appendChild(div);
  }
  const chart = charts.get(id) || echarts.init(div, null, { renderer: 'canvas' });
  charts.set(id, chart);
  chart.setOption(Object.assign({ animation: false }, option), true);
}

function timeChart(title, series, areas, yAxis) {
  if (series.length && areas.length) {
    series[0].markArea = { silent: true, itemStyle: { color: 'rgba(214,69,69,0.12)' },
                           label: { position: 'insideBottom' }, data: areas };
  }
  return {
    title: { text: title, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 50, right: 50, top: 32, bottom: 48 },
    xAxis: { type: 'time' },
    yAxis,
    series,
  };
}

function renderStream(stream, history, accuracy, alerts, container) {
  const key = `${stream.site}--${stream.camera}`.replace(/[^A-Za-z0-9_-]/g, '_');
  let box = document.getElementById('s-' + key);
  if (!box) {
    box = document.createElement('div');
    box.className = 'stream';
    box.id = 's-' + key;
    box.innerHTML = '<h3></h3><div class="charts"></div>';
    container.appendChild(box);
  }
  const open = stream.open_alert !== null;
  box.querySelector('h3').innerHTML = `${text(stream.site)} / ${text(stream.camera)}: ` +
    `${stream.frames} frames` + (stream.reference_ready ? '' : ' (learning its reference)') +
    (open ? '<span class="badge">alert open</span>' : '');
  const grid = box.querySelector('.charts');
  const areas = alertAreas(alerts, stream);
  const at = field => history.map(p => [p.time, p[field]]);
  const days = accuracy.filter(e => e.site === stream.site && e.day !== null && e.auto.accuracy !== null);
  const noon = d => d + 'T12:00:00Z';
  draw(`acc-${key}`, grid, timeChart('accuracy', [
    { name: 'label-free (ATC)', type: 'line', showSymbol: false, data: at('accuracy_label_free') },
    { name: 'audit', type: 'scatter', data: days.map(e => [noon(e.day), e.auto.accuracy]) },
    { name: 'audit 95% low', type: 'line', lineStyle: { type: 'dashed' }, data: days.map(e => [noon(e.day), e.auto.interval95[0]]) },
    { name: 'audit 95% high', type: 'line', lineStyle: { type: 'dashed' }, data: days.map(e => [noon(e.day), e.auto.interval95[1]]) },
  ], areas, { type: 'value', min: 0, max: 1, axisLabel: { formatter: v => (100 * v).toFixed(0) + '%' } }));
  draw(`rates-${key}`, grid, timeChart('review, bad images, drift', [
    { name: 'review rate', type: 'line', showSymbol: false, data: at('review_rate') },
    { name: 'bad images', type: 'line', showSymbol: false, data: at('bad_image_rate') },
    { name: 'drift score', type: 'line', showSymbol: false, yAxisIndex: 1, data: at('score') },
  ], areas, [{ type: 'value', min: 0, max: 1 }, { type: 'value', min: 0, name: 'score' }]));
  const q = stream.quantities;
  const metrics = ['sharpness', 'brightness', 'contrast', 'noise', 'blockiness', 'displacement']
    .filter(m => q[m] && q[m].reference);
  draw(`quality-${key}`, grid, timeChart('quality / reference', metrics.map(m => ({
    name: m, type: 'line', showSymbol: false,
    data: history.map(p => [p.time, p.quality[m] / q[m].reference]),
  })), areas, { type: 'value', min: 0 }));
}

async function refresh() {
  const [drift, alerts, accuracy] = await Promise.all([
    get('/v1/drift'), get('/v1/alerts?limit=200'), get('/v1/stats/accuracy')]);
  document.getElementById('model').textContent = drift.model_version ? 'model ' + drift.model_version : '';
  renderAlerts(alerts);
  const container = document.getElementById('streams');
  for (const stream of drift.streams) {
    const history = await get(`/v1/drift/history?site=${encodeURIComponent(stream.site)}` +
                              `&camera=${encodeURIComponent(stream.camera)}`);
    renderStream(stream, history, accuracy.estimates || [], alerts, container);
  }
  window.dashboardState = { streams: drift.streams.length, alerts: alerts.length, drawn: charts.size };
}

function loop() {
  refresh().catch(e => {
    document.getElementById('alerts').innerHTML = `<tr><td>${text(e.message)}</td></tr>`;
    window.dashboardState = { error: e.message };
  }).finally(() => setTimeout(loop, 10000));
}
loop();
