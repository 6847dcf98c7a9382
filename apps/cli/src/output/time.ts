const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** `3s ago`, `5m ago`, `2h ago`, `4d ago`; `never` for no time; `in 3s` for a clock ahead of ours. */
export function formatAgo(at: string | Date | null | undefined, now: Date = new Date()): string {
  if (at === null || at === undefined) return 'never';
  const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (Number.isNaN(t)) return '?';
  const diff = now.getTime() - t;
  const abs = Math.abs(diff);
  let text = '0s';
  for (const [unit, ms] of UNITS) {
    if (abs >= ms) {
      text = `${Math.floor(abs / ms)}${unit}`;
      break;
    }
  }
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Whole seconds in the largest unit that divides them: `90s`, `10m`, `1h`, `30d`. */
export function formatSeconds(seconds: number): string {
  const ms = seconds * 1000;
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${seconds}s`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local wall-clock time of a message: `14:03:07.120` today, `2026-11-23 14:03:07.120` before. */
export function formatClock(at: Date, now: Date = new Date()): string {
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay ? time : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `7d` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
