import { NcoError } from '@nco/events';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDcaConfig } from '../settings';
import { InverseKeeper } from './inverse-keeper';
import { DirInverseStore } from './inverse-store';
import { MemoryInverseStore } from './memory-inverse-store';

const LUA = Buffer.from('-- l45 dissector\nlocal l45 = Proto("l45", "L4.5")\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const install = (content = LUA, over: Record<string, unknown> = {}) => ({
  module: 'dns-tag',
  file: 'l45_dns_tag.lua',
  size: content.length,
  sha256: sha(content),
  contentBase64: content.toString('base64'),
  ...over,
});

describe('DirInverseStore', () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), 'inverse-')), 'plugins')));
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('writes by temp file and rename, lists what it holds, and removes by deleting', async () => {
    const store = new DirInverseStore(dir);
    expect(await store.list()).toEqual([]); // the folder does not exist yet
    expect(await store.write('l45_dns_tag.lua', LUA)).toBe('installed');
    expect(readFileSync(join(dir, 'l45_dns_tag.lua'))).toEqual(LUA);
    expect(statSync(join(dir, 'l45_dns_tag.lua')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['l45_dns_tag.lua']); // no temp file left behind
    expect(await store.write('l45_dns_tag.lua', LUA)).toBe('unchanged');
    const v2 = Buffer.from('-- v2\n');
    expect(await store.write('l45_dns_tag.lua', v2)).toBe('installed');
    // Files that are not ours (a temp file of a crashed write, a hidden file) are not listed.
    writeFileSync(join(dir, '.l45_dns_tag.lua.1234.tmp'), 'half');
    expect(await store.list()).toEqual([{ file: 'l45_dns_tag.lua', sha256: sha(v2), size: v2.length }]);
    expect(await store.remove('l45_dns_tag.lua')).toBe('removed');
    expect(await store.remove('l45_dns_tag.lua')).toBe('absent');
    expect(await store.list()).toEqual([]);
  });

  it('leaves the previous file whole, and no temp file, when a write fails', async () => {
    const rename = jest.fn().mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }));
    await new DirInverseStore(dir).write('l45_dns_tag.lua', LUA);
    const store = new DirInverseStore(dir, { ...fsp, rename });
    await expect(store.write('l45_dns_tag.lua', Buffer.from('-- v2\n'))).rejects.toThrow(/EIO/);
    expect(rename).toHaveBeenCalledWith(expect.stringMatching(/\/\.l45_dns_tag\.lua\.[0-9a-f]{8}\.tmp$/), join(dir, 'l45_dns_tag.lua'));
    expect(readFileSync(join(dir, 'l45_dns_tag.lua'))).toEqual(LUA);
    expect(readdirSync(dir)).toEqual(['l45_dns_tag.lua']);
  });
});

describe('InverseKeeper', () => {
  it('refuses a bad install before anything is written', async () => {
    const store = new MemoryInverseStore();
    const keeper = new InverseKeeper(store);
    const refused = (over: Record<string, unknown>) => {
      try {
        keeper.install(install(LUA, over) as never);
      } catch (e) {
        return e as NcoError;
      }
      throw new Error('not refused');
    };
    expect(refused({ contentBase64: 'not base64!' })).toMatchObject({ code: 'invalid_request', message: 'contentBase64 is not valid base64' });
    expect(refused({ size: LUA.length + 1 })).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/is \d+ bytes, the command says/) });
    expect(refused({ sha256: '0'.repeat(64) })).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/has sha256 [0-9a-f]{64}, the command says 0{64}/) });
    expect(store.attempts).toBe(0);
    expect(await keeper.holdings()).toEqual([]);
  });

  it('installs, repeats as unchanged, removes, and turns a failed write into an unavailable error', async () => {
    const store = new MemoryInverseStore();
    const keeper = new InverseKeeper(store);
    expect(await keeper.install(install())).toEqual({ file: 'l45_dns_tag.lua', outcome: 'installed' });
    expect(await keeper.install(install())).toEqual({ file: 'l45_dns_tag.lua', outcome: 'unchanged' });
    expect(await keeper.holdings()).toEqual([{ file: 'l45_dns_tag.lua', sha256: sha(LUA), size: LUA.length }]);
    store.failWrites = 'ENOSPC: no space left on device';
    await expect(keeper.install(install(Buffer.from('-- v2\n')))).rejects.toMatchObject({ code: 'unavailable', message: 'cannot write l45_dns_tag.lua: ENOSPC: no space left on device' });
    expect(store.read('l45_dns_tag.lua')).toEqual(LUA);
    expect(await keeper.remove({ module: 'dns-tag', file: 'l45_dns_tag.lua' })).toEqual({ file: 'l45_dns_tag.lua', outcome: 'removed' });
    expect(await keeper.remove({ module: 'dns-tag', file: 'l45_dns_tag.lua' })).toEqual({ file: 'l45_dns_tag.lua', outcome: 'absent' });
  });

  it('runs writes one at a time, in arrival order', async () => {
    const order: string[] = [];
    const store = new MemoryInverseStore();
    const write = store.write.bind(store);
    store.write = async (file, content) => {
      order.push(`start ${content.toString()}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${content.toString()}`);
      return write(file, content);
    };
    const keeper = new InverseKeeper(store);
    await Promise.all([keeper.install(install(Buffer.from('a'))), keeper.install(install(Buffer.from('b')))]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(store.read('l45_dns_tag.lua')).toEqual(Buffer.from('b'));
  });
});

describe('DCA_INVERSE_DIR', () => {
  const host = { networkInterfaces: () => ({}), release: () => '6.1.0' };
  it('defaults to <state dir>/inverse and can be set', () => {
    expect(loadDcaConfig({ DCA_MAC: '02:00:00:00:00:01', DCA_STATE_DIR: '/var/lib/dca' }, host).DCA_INVERSE_DIR).toBe('/var/lib/dca/inverse');
    expect(loadDcaConfig({ DCA_MAC: '02:00:00:00:00:01', DCA_INVERSE_DIR: '/usr/lib/wireshark/plugins' }, host).DCA_INVERSE_DIR).toBe('/usr/lib/wireshark/plugins');
  });
});
