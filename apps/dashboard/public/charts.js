// Small SVG charts drawn by hand: no chart library to load, serve or update.
const W = 600;
const H = 160;
const PAD = { l: 40, r: 8, t: 10, b: 22 };

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const clock = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function frame(max, points, unit) {
  const x0 = PAD.l;
  const y0 = H - PAD.b;
  const grid = [0, 0.5, 1]
    .map((f) => {
      const y = y0 - f * (y0 - PAD.t);
      return `<line x1="${x0}" x2="${W - PAD.r}" y1="${y}" y2="${y}" class="grid"/><text x="${x0 - 4}" y="${y + 4}" class="axis" text-anchor="end">${esc(+(max * f).toFixed(max * f < 10 ? 1 : 0))}</text>`;
    })
    .join('');
  const first = points[0];
  const last = points[points.length - 1];
  const labels = first
    ? `<text x="${x0}" y="${H - 6}" class="axis">${clock(first.t)}</text><text x="${W - PAD.r}" y="${H - 6}" class="axis" text-anchor="end">${clock(last.t)}</text>`
    : '';
  return `${grid}${labels}<text x="${W - PAD.r}" y="${PAD.t + 2}" class="axis" text-anchor="end">${esc(unit)}</text>`;
}

/** Bars, one per bucket: e.g. installs confirmed per 10 s. */
export function barChart(points, key, { unit = '', label = '' } = {}) {
  const values = points.map((p) => p[key]);
  const max = niceMax(Math.max(0, ...values));
  const bw = (W - PAD.l - PAD.r) / Math.max(points.length, 1);
  const y0 = H - PAD.b;
  const bars = points
    .map((p, i) => {
      const h = (p[key] / max) * (y0 - PAD.t);
      return p[key] > 0
        ? `<rect x="${(PAD.l + i * bw).toFixed(1)}" y="${(y0 - h).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${h.toFixed(1)}" class="bar"><title>${clock(p.t)}: ${p[key]}</title></rect>`
        : '';
    })
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" class="chart">${frame(max, points, unit)}${bars}</svg>`;
}

/** A line with the area under it: e.g. reports per second. */
export function lineChart(points, value, { unit = '', label = '' } = {}) {
  const values = points.map(value);
  const max = niceMax(Math.max(0, ...values));
  const y0 = H - PAD.b;
  const step = (W - PAD.l - PAD.r) / Math.max(points.length - 1, 1);
  const xy = values.map((v, i) => [PAD.l + i * step, y0 - (v / max) * (y0 - PAD.t)]);
  const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
  const area = xy.length ? `${line}L${xy[xy.length - 1][0].toFixed(1)},${y0}L${PAD.l},${y0}Z` : '';
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" class="chart">${frame(max, points, unit)}<path d="${area}" class="area"/><path d="${line}" class="line"/></svg>`;
}
