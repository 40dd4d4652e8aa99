// Drift monitoring measured through the server, as issue 6 states its targets: a fresh
// `steadyeye serve`, and for every condition and severity one `steadyeye replay` to a site of its
// own that switches the condition on at a known image.
//
//   node bench/drift_bench.mjs --bin build/steadyeye --model models/robust-cal.seye \
//        [--severities 2,3,4,5] [--conditions all] [--onset 1000] [--after 600] \
//        [--stationary 10000] [--out bench-drift.json] [--action suspend|tighten|none] \
//        [--images fashion-mnist:test]
//
// `--images fashion-mnist:val` replays the validation split instead: what to tune on (the
// alerts' named causes, say), so that the test split is only measured.
//
// Prints markdown tables (detection delay per condition and severity, misses included; false
// alarms on stationary streams; error among automatic decisions per window under drift) and
// writes every replay's outcome as JSON. Long: minutes, not part of the tests.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function parseArgs(argv) {
  const a = {
    bin: 'build/steadyeye', model: 'models/robust-cal.seye', severities: '2,3,4,5',
    conditions: 'all', onset: 1000, after: 600, stationary: 10000, out: 'bench-drift.json',
    seed: 1, window: 500, labelfree: 1000, parts: 'detection,stationary,labelfree',
    action: 'suspend', images: 'fashion-mnist:test',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    a[key] = typeof a[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return a;
}

function conditions(bin, which) {
  const names = execFileSync(bin, ['shift', '--list']).toString().trim().split('\n')
    .map(line => line.split(/\s+/)[0]);
  return which === 'all' ? names : which.split(',');
}

// Starts the server on a free port; resolves with its URL and process.
function startServer(bin, model, store, action) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--model', model, '--store', store, '--port', '0',
                              '--drift-action', action],
                        { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', d => {
      out += d;
      const m = out.match(/on (http:\/\/[0-9.]+:\d+)/);
      if (m) resolve({ url: m[1], child });
    });
    child.stderr.on('data', () => {});  // alert log lines
    child.on('exit', code => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

function replay(bin, url, images, args) {
  const out = execFileSync(bin, ['replay', '--server', url, '--images', images,
                                 '--json', ...args], { maxBuffer: 1 << 28,
                                                       stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString());
}

function errorRate(w) { return w.auto > 0 ? w.auto_errors / w.auto : 0; }

// The server's label-free estimate over a stream: its history points' ATC shares, weighted by
// their frames.
async function labelFreeEstimate(url, site) {
  // The server closes idle keep-alive connections; a request on one it just closed is retried.
  let history;
  for (let attempt = 1; ; ++attempt) {
    try {
      history = await (await fetch(`${url}/v1/drift/history?site=${site}`)).json();
      break;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
  let frames = 0, above = 0;
  for (const p of history) {
    if (p.accuracy_label_free === null) return null;
    frames += p.frames;
    above += p.accuracy_label_free * p.frames;
  }
  return frames ? above / frames : null;
}

function printDetection(results, names, severities) {
  console.log(`| condition | ${severities.map(s => `sev ${s}`).join(' | ')} |`);
  console.log(`|---|${severities.map(() => '---').join('|')}|`);
  for (const c of names) {
    const cells = severities.map(s => {
      const d = results.detection.find(x => x.condition === c && x.severity === s).drift;
      if (!d) return 'n/a';
      const fa = d.false_alarms > 0 ? ` (+${d.false_alarms} early)` : '';
      return d.missed ? `**miss**${fa}` : `${d.detected_after} ${d.reason}${fa}`;
    });
    console.log(`| ${c} | ${cells.join(' | ')} |`);
  }
  const delays = results.detection.filter(x => x.drift && !x.drift.missed)
    .map(x => x.drift.detected_after).sort((p, q) => p - q);
  const misses = results.detection.filter(x => !x.drift || x.drift.missed).length;
  console.log(`\ndetected ${delays.length} of ${results.detection.length}; median delay ` +
              `${delays[Math.floor(delays.length / 2)]}, max ${delays[delays.length - 1]}; ` +
              `misses ${misses}`);
  const worst = results.detection.filter(x => x.severity <= 4)
    .sort((p, q) => q.worst_auto_error_after_onset - p.worst_auto_error_after_onset).slice(0, 5);
  console.log('\nworst error among automatic decisions in a window after onset (severity <= 4):');
  for (const x of worst)
    console.log(`  ${x.condition} ${x.severity}: ${(100 * x.worst_auto_error_after_onset).toFixed(2)}%`);
  // What the action left automatic after the onset, and the error there, per condition.
  console.log('\nafter the onset, severity <= 4: automatic share (error among them)');
  console.log(`| condition | ${severities.filter(s => s <= 4).map(s => `sev ${s}`).join(' | ')} |`);
  console.log(`|---|${severities.filter(s => s <= 4).map(() => '---').join('|')}|`);
  for (const c of names) {
    const cells = results.detection.filter(x => x.condition === c && x.severity <= 4).map(x => {
      const share = x.images_after_onset ? x.auto_after_onset / x.images_after_onset : 0;
      const error = x.auto_after_onset ? x.auto_errors_after_onset / x.auto_after_onset : 0;
      return `${(100 * share).toFixed(0)}% (${(100 * error).toFixed(2)}%)`;
    });
    console.log(`| ${c} | ${cells.join(' | ')} |`);
  }
}

function printStationary(results) {
  const images = results.stationary.reduce((t, x) => t + x.images, 0);
  const alarms = results.stationary.reduce((t, x) => t + x.alerts, 0);
  console.log(`\nstationary streams: ${results.stationary.length}, ${images} images, ` +
              `${alarms} alerts`);
  for (const x of results.stationary.filter(x => x.alerts > 0))
    console.log(`  ${x.condition}: ${x.alerts} (${x.reasons.join(', ')})`);
}

async function main() {
  const a = parseArgs(process.argv);
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-bench-'));
  const { url, child } = await startServer(a.bin, a.model, store, a.action);
  const severities = a.severities.split(',').map(Number);
  const names = conditions(a.bin, a.conditions);
  const results = { command: process.argv.slice(1).join(' '), onset: a.onset, after: a.after,
                    detection: [], stationary: [], labelfree: [] };
  const parts = a.parts.split(',');
  const started = Date.now();
  try {
    for (const c of parts.includes('detection') ? names : []) {
      for (const s of severities) {
        const r = replay(a.bin, url, a.images,
                         ['--site', `d-${c}-${s}`, '--limit', `${a.onset + a.after}`, '--seed',
                          `${a.seed}`, '--condition', c, '--severity', `${s}`, '--from',
                          `${a.onset}`, '--window', `${a.window}`]);
        const after = r.windows.filter(w => w.first >= a.onset);
        const sum = key => after.reduce((t, w) => t + w[key], 0);
        results.detection.push({ condition: c, severity: s, drift: r.drift, alerts: r.alerts,
                                 windows: r.windows, worst_auto_error_after_onset:
                                   Math.max(0, ...after.map(errorRate)),
                                 auto_after_onset: sum('auto'),
                                 auto_errors_after_onset: sum('auto_errors'),
                                 images_after_onset: sum('images') });
        process.stderr.write(`${c} ${s}: ${JSON.stringify(r.drift)}\n`);
      }
    }
    for (const c of parts.includes('stationary') ? ['clean', ...names] : []) {
      const extra = c === 'clean' ? [] : ['--condition', c, '--severity', '3', '--from', '0'];
      const r = replay(a.bin, url, a.images, ['--site', `s-${c}`, '--limit', `${a.stationary}`,
                                              '--seed', `${a.seed + 1}`, ...extra]);
      results.stationary.push({ condition: c, images: r.sent, alerts: r.alerts.length,
                                reasons: r.alerts.map(x => `${x.reason}, trigger ${x.trigger}`) });
      process.stderr.write(`stationary ${c}: ${r.alerts.length} alerts\n`);
    }
    // Label-free accuracy: a window of images under one condition and severity from the first
    // image, the server's ATC estimate against the true accuracy of the model's labels.
    for (const c of parts.includes('labelfree') ? ['clean', ...names] : []) {
      for (const s of c === 'clean' ? [0] : [1, 2, 3, 4, 5]) {
        const site = `l-${c}-${s}`;
        const extra = c === 'clean' ? [] : ['--condition', c, '--severity', `${s}`, '--from', '0'];
        const r = replay(a.bin, url, a.images, ['--site', site, '--limit', `${a.labelfree}`,
                                                '--seed', `${a.seed + 2}`, '--window',
                                                `${a.labelfree}`, ...extra]);
        const truth = r.windows[0].model_correct / r.windows[0].images;
        const estimate = await labelFreeEstimate(url, site);
        results.labelfree.push({ condition: c, severity: s, truth, estimate,
                                 error: estimate === null ? null : estimate - truth });
        process.stderr.write(`labelfree ${c} ${s}: true ${truth} estimate ${estimate}\n`);
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  results.seconds = (Date.now() - started) / 1000;
  fs.writeFileSync(a.out, JSON.stringify(results, null, 1));

  if (results.detection.length) printDetection(results, names, severities);
  if (results.stationary.length) printStationary(results);
  if (results.labelfree.length) {
    console.log('\nlabel-free accuracy (ATC) against the truth, per window of ' +
                `${a.labelfree} images: estimate - true, in accuracy points`);
    console.log('| condition | sev 1 | sev 2 | sev 3 | sev 4 | sev 5 |\n|---|---|---|---|---|---|');
    for (const c of ['clean', ...names]) {
      const cells = results.labelfree.filter(x => x.condition === c).map(x =>
        x.error === null ? 'n/a' : `${(100 * x.error).toFixed(1)} (${(100 * x.truth).toFixed(1)})`);
      console.log(`| ${c} | ${cells.join(' | ')} |`);
    }
    const within = results.labelfree.filter(x => x.severity <= 3 && x.error !== null &&
                                                 Math.abs(x.error) <= 0.03).length;
    const cells = results.labelfree.filter(x => x.severity <= 3).length;
    console.log(`\nwithin 3 points at severity <= 3: ${within} of ${cells}`);
  }
  console.log(`\n${results.seconds.toFixed(0)} s`);
}

main().catch(e => { console.error(e); process.exit(1); });
