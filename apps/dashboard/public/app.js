// The dashboard page: one EventSource (/api/stream) brings a snapshot, then batches of stream
// messages; the views below render from `state`. Read-only: nothing here sends a command.
import { barChart, lineChart } from './charts.js';

const state = {
  hosts: new Map(),
  hostsTotal: 0,
  counts: null,
  operations: new Map(),
  builds: null,
  series: [],
  bucketMs: 10_000,
  stream: [],
  errors: [],
  problems: {},
  host: null,
  hostError: null,
  reportsSeen: 0,
};
const STREAM_MAX = 300;
const view = document.getElementById('view');
const conn = document.getElementById('conn');

// ---------------------------------------------------------------------------------------------
// helpers

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '–');
function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}
const SETTLED = new Set(['succeeded', 'failed', 'partially_failed', 'cancelled']);
const badge = (text, kind) => `<span class="badge ${kind}">${esc(text)}</span>`;
const unavailable = (what, error) => `<p class="warn">${esc(what)} unavailable: ${esc(error)}</p>`;

function progressBar(op) {
  const total = Math.max(op.targetCount, 1);
  const ok = (op.succeeded / total) * 100;
  const bad = (op.failed / total) * 100;
  return `<div class="progress" title="${op.succeeded} succeeded, ${op.failed} failed, ${op.pending} pending of ${op.targetCount}">
    <span class="ok" style="width:${ok}%"></span><span class="bad" style="width:${bad}%"></span></div>`;
}

// ---------------------------------------------------------------------------------------------
// applying the stream

function applySnapshot(s) {
  state.problems = {};
  state.hosts = new Map();
  if (s.hosts.ok) {
    for (const h of s.hosts.data.hosts) state.hosts.set(h.hostId, h);
    state.hostsTotal = s.hosts.data.total;
  } else state.problems.hosts = s.hosts.error;
  state.counts = s.counts.ok ? { ...s.counts.data } : null;
  if (!s.counts.ok) state.problems.counts = s.counts.error;
  state.operations = new Map();
  if (s.operations.ok) for (const op of s.operations.data.operations) state.operations.set(op.id, op);
  else state.problems.operations = s.operations.error;
  state.builds = s.builds.ok ? s.builds.data : null;
  if (!s.builds.ok) state.problems.builds = s.builds.error;
  state.series = s.series;
  state.bucketMs = s.bucketMs;
  state.stream = s.recent.slice(-STREAM_MAX);
  state.errors = s.errors;
}

function setOnline(h, online) {
  if (h.online === online) return;
  h.online = online;
  if (state.counts) {
    state.counts.online += online ? 1 : -1;
    state.counts.offline += online ? -1 : 1;
  }
}

function applyItem(item) {
  const h = item.hostId !== undefined ? state.hosts.get(item.hostId) : undefined;
  const b = item.body ?? {};
  switch (item.kind) {
    case 'report':
      if (h) {
        h.lastReportAt = item.at;
        h.lastSeenAt = item.at;
        h.moduleCount = item.modules.length;
        setOnline(h, true);
      }
      if (state.host && state.host.host.hostId === item.hostId) {
        state.host.lastReport = { at: item.at, summary: item.summary, modules: item.modules, revoked: item.revoked };
      }
      break;
    case 'host.online':
    case 'host.offline':
      if (h) setOnline(h, item.kind === 'host.online');
      break;
    case 'host.registered':
      if (!state.hosts.has(b.hostId)) {
        state.hosts.set(b.hostId, { hostId: b.hostId, mac: b.mac, release: b.release, ip: null, middleboxType: b.middleboxType, online: true, lastSeenAt: item.at, lastReportAt: null, moduleCount: 0, labels: {} });
        state.hostsTotal++;
        if (state.counts) state.counts.online++;
      }
      break;
    case 'operation.progress':
      state.operations.set(b.id, b);
      break;
    case 'build.failed':
      if (state.builds) {
        state.builds.errors.unshift({ id: `live-${item.seq}`, hostId: null, moduleName: b.module, release: b.release, error: b.error ?? '', operationId: b.operationId, createdAt: item.at });
        state.builds.errors = state.builds.errors.slice(0, 20);
      }
      break;
  }
  if (item.error) state.errors = [...state.errors, item].slice(-100);
  state.stream.push(item);
}

function applyBatch(batch) {
  state.reportsSeen += batch.reports;
  for (const item of batch.items) applyItem(item);
  if (state.stream.length > STREAM_MAX) state.stream = state.stream.slice(-STREAM_MAX);
  for (const p of batch.series) {
    const i = state.series.findIndex((q) => q.t === p.t);
    if (i >= 0) state.series[i] = p;
    else if (!state.series.length || p.t > state.series[state.series.length - 1].t) {
      state.series.push(p);
      state.series.shift();
    }
  }
  // A host page refreshes its deployments from the CIB when something about that host settled.
  if (state.host && batch.items.some((i) => i.hostId === state.host.host.hostId && i.kind !== 'report')) refreshHost();
  else if (state.host && batch.items.some((i) => i.kind === 'operation.progress')) refreshHost();
}

// ---------------------------------------------------------------------------------------------
// views

function tiles() {
  const c = state.counts;
  const running = [...state.operations.values()].filter((o) => !SETTLED.has(o.status)).length;
  const tile = (label, value, cls = '', id = '') => `<div class="tile ${cls}" ${id ? `data-testid="${id}"` : ''}><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div></div>`;
  return `<section class="tiles">
    ${tile('hosts online', c ? c.online : '?', 'good', 'hosts-online')}
    ${tile('hosts offline', c ? c.offline : '?', c && c.offline ? 'bad' : '', 'hosts-offline')}
    ${tile('operations running', running, '', 'ops-running')}
    ${tile('errors (recent)', state.errors.length, state.errors.length ? 'bad' : '', 'errors-count')}
  </section>${state.problems.counts ? unavailable('host counts', state.problems.counts) : ''}`;
}

function charts() {
  const pts = state.series;
  const perSecond = (p) => p.reports / (state.bucketMs / 1000);
  const span = `${Math.round((pts.length * state.bucketMs) / 60000)} min`;
  return `<section class="charts">
    <figure><figcaption>Deployments confirmed (per ${state.bucketMs / 1000} s, last ${span})</figcaption>${barChart(pts, 'installed', { unit: 'installs', label: 'deployments over time' })}</figure>
    <figure><figcaption>Report rate (reports/s)</figcaption>${lineChart(pts, perSecond, { unit: 'reports/s', label: 'report rate' })}</figure>
  </section>`;
}

function operationsTable(ops, title) {
  if (state.problems.operations) return `<h2>${title}</h2>${unavailable('operations', state.problems.operations)}`;
  const rows = ops
    .map(
      (o) => `<tr data-testid="op-${esc(o.id)}" data-status="${esc(o.status)}">
        <td><code title="${esc(o.id)}">${esc(o.id.slice(0, 8))}</code></td><td>${esc(o.kind)}</td><td>${esc(o.params?.module ?? o.params?.to ?? '')}</td>
        <td>${badge(o.status, SETTLED.has(o.status) ? (o.status === 'succeeded' ? 'good' : 'bad') : 'busy')}</td>
        <td>${progressBar(o)}</td><td class="num">${o.succeeded}/${o.targetCount}${o.failed ? `, ${o.failed} failed` : ''}</td><td>${time(o.createdAt)}</td></tr>`,
    )
    .join('');
  return `<h2>${title}</h2>${ops.length ? `<table class="ops"><thead><tr><th>operation</th><th>kind</th><th>module</th><th>status</th><th>progress</th><th>hosts</th><th>started</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">none</p>'}`;
}

function sortedOperations() {
  return [...state.operations.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}

function hostsTable() {
  if (state.problems.hosts) return `<h2>Hosts</h2>${unavailable('hosts', state.problems.hosts)}`;
  const hosts = [...state.hosts.values()].sort((a, b) => a.hostId - b.hostId);
  const errorsByHost = new Map();
  for (const e of state.errors) if (e.hostId !== undefined) errorsByHost.set(e.hostId, (errorsByHost.get(e.hostId) ?? 0) + 1);
  const rows = hosts
    .map((h) => {
      const errs = errorsByHost.get(h.hostId) ?? 0;
      return `<tr data-host-id="${h.hostId}" data-online="${h.online}">
        <td><a href="#/host/${h.hostId}">${h.hostId}</a></td><td><code>${esc(h.mac)}</code></td><td>${esc(h.release)}</td>
        <td>${h.middleboxType ? esc(h.middleboxType) : ''}</td><td>${badge(h.online ? 'online' : 'offline', h.online ? 'good' : 'bad')}</td>
        <td class="num" data-testid="modules-${h.hostId}">${h.moduleCount}</td><td>${ago(h.lastReportAt)}</td><td class="num">${errs ? badge(errs, 'bad') : ''}</td></tr>`;
    })
    .join('');
  const more = state.hostsTotal > hosts.length ? `<p class="muted">showing ${hosts.length} of ${state.hostsTotal} hosts</p>` : '';
  return `<h2>Hosts</h2><table class="hosts"><thead><tr><th>host</th><th>mac</th><th>release</th><th>middlebox</th><th>state</th><th>modules</th><th>last report</th><th>errors</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

function streamList(items, { limit = 100 } = {}) {
  const rows = items
    .slice(-limit)
    .reverse()
    .map(
      (i) => `<li class="${i.error ? 'error' : ''}" data-kind="${esc(i.kind)}"><time>${time(i.at)}</time><span class="kind">${esc(i.kind)}</span>
        <span class="host">${i.hostId !== undefined ? `<a href="#/host/${i.hostId}">host ${i.hostId}</a>` : '–'}</span><span class="summary">${esc(i.summary)}</span></li>`,
    )
    .join('');
  return rows ? `<ul class="stream">${rows}</ul>` : '<p class="muted">nothing yet</p>';
}

function buildErrors() {
  if (state.problems.builds) return `<h2>Build errors</h2>${unavailable('builds', state.problems.builds)}`;
  const b = state.builds;
  if (!b) return '';
  const queue = Object.entries(b.queue ?? {}).map(([k, v]) => `${esc(k)} ${v}`).join(' · ');
  const rows = b.errors
    .map((e) => `<li><time>${time(e.createdAt)}</time> <b>${esc(e.moduleName)}</b> on ${esc(e.release ?? '?')}${e.hostId ? ` (host ${e.hostId})` : ''}<pre>${esc(e.error.slice(0, 600))}</pre></li>`)
    .join('');
  return `<h2>Build errors</h2><p class="muted">build queue: ${queue || 'empty'}</p>${rows ? `<ul class="build-errors">${rows}</ul>` : '<p class="muted">none</p>'}`;
}

/** Running operations, and those that finished in the last RECENT_MS (so a quick one is seen too). */
const RECENT_MS = 10 * 60_000;
function fleetView() {
  const now = Date.now();
  const shown = sortedOperations().filter((o) => !SETTLED.has(o.status) || now - new Date(o.finishedAt ?? o.updatedAt).getTime() < RECENT_MS);
  return `${tiles()}${charts()}
    <div class="columns">
      <div>${operationsTable(shown.slice(0, 20), 'Operations in progress and just finished')}${hostsTable()}</div>
      <aside><h2>Errors</h2>${streamList(state.errors, { limit: 30 })}${buildErrors()}</aside>
    </div>`;
}

function operationsView() {
  return `${operationsTable(sortedOperations().slice(0, 100), 'Operations')}${buildErrors()}`;
}

function streamView(filter) {
  const items = filter === 'events' ? state.stream.filter((i) => i.kind !== 'report') : filter === 'reports' ? state.stream.filter((i) => i.kind === 'report') : state.stream;
  const tab = (name, label) => (filter === name ? `<b>${label}</b>` : `<a href="#/stream${name === 'all' ? '' : `/${name}`}">${label}</a>`);
  return `<h2>Live reports and events <span class="muted">(${state.reportsSeen} reports since this page opened; the list shows the newest report per host per push)</span></h2>
    <p class="filters">${tab('all', 'all')} · ${tab('events', 'events only')} · ${tab('reports', 'reports only')}</p>${streamList(items, { limit: STREAM_MAX })}`;
}

function securityStatus(d) {
  if (d.state === 'failed') return badge(`failed: ${d.failureReason ?? ''}`, 'bad');
  if (d.state === 'verified') return badge(`verified ${ago(d.securityCheckedAt)}`, 'good');
  if (d.securityCheckedAt) return badge(`challenged ${ago(d.securityCheckedAt)}`, 'good');
  return badge('not challenged yet', '');
}

function hostView() {
  if (state.hostError) return `<p class="warn">${esc(state.hostError)}</p>`;
  const s = state.host;
  if (!s) return '<p class="muted">Loading host…</p>';
  const h = state.hosts.get(s.host.hostId) ?? s.host;
  const reported = new Map((s.lastReport?.modules ?? []).map((m) => [m.id, m]));
  let modules = '';
  if (!s.modules.ok) modules = unavailable('modules', s.modules.error);
  else {
    const rows = s.modules.data.deployments
      .map((d) => {
        const live = reported.get(d.moduleId);
        return `<tr data-module-id="${d.moduleId}" data-state="${esc(d.state)}"><td class="num">${d.moduleId}</td><td>${esc(d.moduleName)}</td><td>${badge(d.state, d.state === 'failed' ? 'bad' : d.state === 'installed' || d.state === 'verified' ? 'good' : 'busy')}${d.deprecated ? ' ' + badge('deprecated', '') : ''}</td>
          <td>${(live?.active ?? d.activeMode) ? 'active' : 'inactive'}</td><td class="num">${d.priority}</td><td class="num">${live?.sockets ?? d.socketCount}</td>
          <td>${ago(live ? s.lastReport.at : d.reportedAt)}</td><td>${securityStatus(d)}</td><td>${d.hostErrorAt ? badge(`missing since ${time(d.hostErrorAt)}`, 'bad') : ''}</td></tr>`;
      })
      .join('');
    const unknown = s.modules.data.unknown.map((u) => `<li>${badge('unknown module', 'bad')} id ${u.moduleId}, seen since ${time(u.firstSeenAt)}</li>`).join('');
    const pending = s.modules.data.pending.map((p) => `<li>${esc(p.kind)} module ${p.moduleId ?? '?'}: ${esc(p.state)}${p.attempts ? `, ${p.attempts} attempts` : ''}${p.lastError ? ` (${esc(p.lastError)})` : ''}</li>`).join('');
    modules = `<table class="modules"><thead><tr><th>id</th><th>module</th><th>state</th><th>mode</th><th>priority</th><th>sockets</th><th>last report</th><th>security</th><th>host error</th></tr></thead><tbody>${rows || '<tr><td colspan="9" class="muted">no modules</td></tr>'}</tbody></table>
      ${unknown ? `<h3>Modules the NCO never built</h3><ul>${unknown}</ul>` : ''}${pending ? `<h3>Pending work</h3><ul>${pending}</ul>` : ''}`;
  }
  return `<h2>Host ${h.hostId} ${badge(h.online ? 'online' : 'offline', h.online ? 'good' : 'bad')}</h2>
    <dl class="facts"><dt>mac</dt><dd><code>${esc(h.mac)}</code></dd><dt>release</dt><dd>${esc(h.release)}</dd><dt>address</dt><dd>${esc(h.ip ?? '–')}</dd>
      <dt>middlebox</dt><dd>${esc(h.middleboxType ?? '–')}</dd><dt>last report</dt><dd data-testid="last-report">${ago(s.lastReport?.at ?? h.lastReportAt)}${s.lastReport ? ` — ${esc(s.lastReport.summary)}` : ''}</dd>
      <dt>labels</dt><dd>${Object.entries(h.labels ?? {}).map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(' ') || '–'}</dd></dl>
    <h2>Modules</h2>${modules}
    <h2>Errors and security events</h2>${streamList(state.errors.filter((e) => e.hostId === h.hostId), { limit: 30 })}
    <h2>Recent events</h2>${streamList(state.stream.filter((i) => i.hostId === h.hostId), { limit: 50 })}`;
}

// ---------------------------------------------------------------------------------------------
// routing and rendering

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const host = hash.match(/^\/host\/(\d+)$/);
  if (host) return { name: 'host', hostId: Number(host[1]) };
  if (hash === '/operations') return { name: 'operations' };
  const stream = hash.match(/^\/stream(?:\/(events|reports))?$/);
  if (stream) return { name: 'stream', filter: stream[1] ?? 'all' };
  return { name: 'fleet' };
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const r = route();
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === r.name);
    view.innerHTML = r.name === 'host' ? hostView() : r.name === 'operations' ? operationsView() : r.name === 'stream' ? streamView(r.filter) : fleetView();
  });
}

let hostTimer;
function refreshHost() {
  clearTimeout(hostTimer);
  hostTimer = setTimeout(() => void loadHost(state.host?.host.hostId), 300);
}

async function loadHost(hostId) {
  if (hostId === undefined) return;
  try {
    const res = await fetch(`/api/hosts/${hostId}`);
    const body = await res.json();
    if (route().hostId !== hostId) return;
    if (!res.ok) {
      state.host = null;
      state.hostError = body.error;
    } else {
      state.hostError = null;
      state.host = body;
    }
  } catch (e) {
    state.hostError = `could not load host ${hostId}: ${e.message}`;
  }
  render();
}

function onRoute() {
  const r = route();
  state.host = null;
  state.hostError = null;
  if (r.name === 'host') void loadHost(r.hostId);
  render();
}

function connect() {
  const es = new EventSource('/api/stream');
  es.addEventListener('snapshot', (e) => {
    applySnapshot(JSON.parse(e.data));
    conn.textContent = 'live';
    conn.dataset.state = 'live';
    render();
  });
  es.addEventListener('batch', (e) => {
    applyBatch(JSON.parse(e.data));
    render();
  });
  es.onerror = () => {
    conn.textContent = 'reconnecting';
    conn.dataset.state = 'reconnecting';
  };
}

window.addEventListener('hashchange', onRoute);
// "3s ago" stays true without a message arriving.
setInterval(render, 5000);
onRoute();
connect();
