// Shared by the report pages (copied beside each): the embedded report data and the chart helper.
// A page sets its data in <script id="report-data" type="application/json">; chart() draws one
// ECharts option into a new .chart element of #charts and counts it in window.reportRendered,
// which the browser tests read.
const report = JSON.parse(document.getElementById('report-data').textContent);
const pct = v => v === null || v === undefined ? 'n/a' : (100 * v).toFixed(1) + '%';
window.reportRendered = 0;

function chart(option) {
  const div = document.createElement('div');
  div.className = 'chart';
  document.getElementById('charts').appendChild(div);
  echarts.init(div, null, { renderer: 'canvas' }).setOption(Object.assign({ animation: false }, option));
  window.reportRendered++;
}
