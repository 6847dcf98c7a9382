import { formatAgo, formatClock, formatSeconds, parseDuration } from './time';

describe('formatAgo', () => {
  const now = new Date('2026-11-24T12:00:00.000Z');

  it.each([
    ['2026-11-24T12:00:00.000Z', '0s ago'],
    ['2026-11-24T11:59:59.400Z', '0s ago'],
    ['2026-11-24T11:59:57.000Z', '3s ago'],
    ['2026-11-24T11:55:00.000Z', '5m ago'],
    ['2026-11-24T09:59:00.000Z', '2h ago'],
    ['2026-11-20T12:00:00.000Z', '4d ago'],
    ['2026-11-24T12:00:03.000Z', 'in 3s'],
  ])('%s is %s', (at, text) => {
    expect(formatAgo(at, now)).toBe(text);
  });

  it('says never for a host that never reported, and ? for garbage', () => {
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo(undefined, now)).toBe('never');
    expect(formatAgo('yesterday', now)).toBe('?');
  });

  it('takes a Date too', () => {
    expect(formatAgo(new Date(now.getTime() - 61_000), now)).toBe('1m ago');
  });
});

describe('formatClock', () => {
  it('shows only the time for today and the date before', () => {
    const now = new Date(2026, 10, 24, 18, 0, 0);
    expect(formatClock(new Date(2026, 10, 24, 9, 5, 7, 12), now)).toBe('09:05:07.012');
    expect(formatClock(new Date(2026, 10, 23, 23, 59, 59, 999), now)).toBe('2026-11-23 23:59:59.999');
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '5x', '-5m', '1.5h', '0s', '5 m m'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatSeconds', () => {
  it.each([
    [2, '2s'],
    [90, '90s'],
    [600, '10m'],
    [3_600, '1h'],
    [5_400, '90m'],
    [2_592_000, '30d'],
  ])('%d s = %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});
