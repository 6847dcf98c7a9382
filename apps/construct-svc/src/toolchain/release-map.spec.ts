import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headersReleaseFor, installedReleases, InvalidReleaseMapError, isValidRelease, parseReleaseMap, releaseProblem } from './release-map';

describe('release strings', () => {
  it.each(['6.1.0-56-amd64', '6.1.0-sim-amd64', '5.15.0-1034-azure', '6.8.0+rt~1', '4.19.0_custom'])('accepts %s', (r) => {
    expect(isValidRelease(r)).toBe(true);
  });

  it.each(['', '..', '.', '../../etc', '6.1/../x', '6.1.0 amd64', '6.1.0;rm', '$(id)', 'a'.repeat(129), 'x\n'])('refuses %j', (r) => {
    expect(isValidRelease(r)).toBe(false);
    expect(releaseProblem(r)).toMatch(/not valid/);
  });

  it('refuses a non-string', () => {
    expect(releaseProblem(42)).toMatch(/must be a string/);
  });
});

describe('parseReleaseMap', () => {
  it('parses from=to pairs with spaces', () => {
    const map = parseReleaseMap(' 6.1.0-sim-amd64=6.1.0-56-amd64 , other=6.1.0-56-amd64');
    expect([...map]).toEqual([['6.1.0-sim-amd64', '6.1.0-56-amd64'], ['other', '6.1.0-56-amd64']]);
    expect(headersReleaseFor('6.1.0-sim-amd64', map)).toBe('6.1.0-56-amd64');
    expect(headersReleaseFor('6.1.0-56-amd64', map)).toBe('6.1.0-56-amd64');
  });

  it('is empty for an empty or missing setting', () => {
    expect(parseReleaseMap('').size).toBe(0);
    expect(parseReleaseMap('   ').size).toBe(0);
    expect(parseReleaseMap(undefined).size).toBe(0);
  });

  it.each([
    ['a=b,', /empty entry/],
    ['a', /"a" is not from=to/],
    ['a=b=c', /not from=to/],
    ['=b', /not valid/],
    ['a=', /not valid/],
    ['a=../../etc', /not valid/],
    ['a=b,a=c', /a is mapped twice/],
  ])('refuses %j', (spec, why) => {
    expect(() => parseReleaseMap(spec)).toThrow(InvalidReleaseMapError);
    expect(() => parseReleaseMap(spec)).toThrow(why);
  });
});

describe('installedReleases', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'headers-'));
    for (const [dir, makefile] of [
      ['linux-headers-6.1.0-56-amd64', true],
      ['linux-headers-6.1.0-56-common', true],
      ['linux-headers-6.1.0-56-common-rt', true],
      ['linux-headers-5.10.0-9-amd64', true],
      ['linux-headers-6.1.0-40-amd64', false],
      ['linux-kbuild-6.1', true],
    ] as const) {
      mkdirSync(join(root, dir));
      if (makefile) writeFileSync(join(root, dir, 'Makefile'), '');
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists header directories with a Makefile, without -common, sorted', async () => {
    expect(await installedReleases(root)).toEqual(['5.10.0-9-amd64', '6.1.0-56-amd64']);
  });

  it('is empty when the root does not exist', async () => {
    expect(await installedReleases(join(root, 'nope'))).toEqual([]);
  });
});
