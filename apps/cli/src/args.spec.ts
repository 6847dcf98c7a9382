import { InvalidArgumentError } from 'commander';
import { collectLabel, labelSelector, parseSecurityWindow, parseSince, parseTimeout, positiveInt } from './args';
import { CliError, ExitCode } from './errors';

describe('argument parsers', () => {
  it('collects repeated labels and builds a selector', () => {
    const pairs = collectLabel('zone=eu-1', collectLabel('rack=a1'));
    expect(pairs).toEqual([
      ['rack', 'a1'],
      ['zone', 'eu-1'],
    ]);
    expect(labelSelector(pairs)).toEqual({ rack: 'a1', zone: 'eu-1' });
    expect(labelSelector(undefined)).toBeUndefined();
    expect(labelSelector([])).toBeUndefined();
  });

  it('keeps = inside a label value and allows an empty value', () => {
    expect(collectLabel('expr=a=b')).toEqual([['expr', 'a=b']]);
    expect(collectLabel('flag=')).toEqual([['flag', '']]);
  });

  it.each(['rack', '=a1', 'Rack=a1', 'rack a=1', `${'k'.repeat(64)}=v`])('refuses the label %j', (text) => {
    expect(() => collectLabel(text)).toThrow(InvalidArgumentError);
  });

  it('refuses one label key with two values as a usage error', () => {
    let err: unknown;
    try {
      labelSelector([
        ['rack', 'a'],
        ['rack', 'b'],
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
    expect((err as CliError).message).toBe('--label: rack is given twice with different values');
    expect(labelSelector([
      ['rack', 'a'],
      ['rack', 'a'],
    ])).toEqual({ rack: 'a' });
  });

  it('takes positive whole numbers within bounds', () => {
    expect(positiveInt(10)('7')).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'ten', '11', '', '1e3']) expect(() => positiveInt(10)(bad)).toThrow(InvalidArgumentError);
    expect(parseTimeout('2500')).toBe(2500);
    expect(() => parseTimeout('3600001')).toThrow(/milliseconds from 1 to 3600000/);
  });

  it('reads --since durations', () => {
    expect(parseSince('5m')).toBe(300_000);
    expect(() => parseSince('five minutes')).toThrow(/duration like 30s, 5m, 1h or 2d/);
  });
});

describe('parseSecurityWindow', () => {
  it('takes 1s .. 30d as milliseconds', () => {
    expect(parseSecurityWindow('1s')).toBe(1_000);
    expect(parseSecurityWindow('10m')).toBe(600_000);
    expect(parseSecurityWindow('30d')).toBe(2_592_000_000);
  });

  it.each(['999ms', '31d', '0', 'soon', ''])('refuses %j', (text) => {
    expect(() => parseSecurityWindow(text)).toThrow(/expected a duration from 1s to 30d/);
  });
});
