import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HelperNetlinkTransport, RecordedNetlinkTransport } from './netlink-transport';

const fx = (name: string) => readFileSync(join(__dirname, '__fixtures__/netlink', name));

/**
 * A stand-in for l45_netlink.py speaking the same frames: ready, then per request an answer.
 * `CUST_REPORT` → the report fixture; `ERR` → an error frame; `SLOW` → nothing; `DIE` → exits 1.
 */
const FAKE_HELPER = `
const report = Buffer.from(process.env.REPORT_HEX, 'hex');
const frame = (kind, payload) => { const h = Buffer.alloc(5); h.write(kind, 0, 'latin1'); h.writeUInt32BE(payload.length, 1); process.stdout.write(Buffer.concat([h, payload])); };
if (process.env.FAIL_OPEN) { frame('E', Buffer.from('netlink protocol 25: Protocol not supported (errno 93)')); process.exit(3); }
frame('R', Buffer.from(String(process.pid)));
let buf = Buffer.alloc(0);
process.stdin.on('data', (c) => {
  buf = Buffer.concat([buf, c]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const req = buf.subarray(4, 4 + buf.readUInt32BE(0)).toString('latin1');
    buf = buf.subarray(4 + buf.readUInt32BE(0));
    if (req === 'CUST_REPORT\\0') frame('A', report);
    else if (req === 'ERR\\0') frame('E', Buffer.from('no answer from the kernel within 5000 ms'));
    else if (req === 'SLOW\\0') {}
    else if (req === 'DIE\\0') { process.stderr.write('Traceback: boom\\n'); process.exit(1); }
    else frame('A', Buffer.from('echo:' + req));
  }
});
`;

function fakeOpen(env: Record<string, string> = {}, spawned: number[] = []) {
  return HelperNetlinkTransport.open({
    timeoutMs: 100,
    startTimeoutMs: 5_000,
    spawnHelper: () => {
      const child = spawn(process.execPath, ['-e', FAKE_HELPER], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, REPORT_HEX: fx('report.txt').toString('hex'), ...env } });
      spawned.push(child.pid ?? -1);
      return child;
    },
  });
}

describe('HelperNetlinkTransport (fake helper)', () => {
  let t: HelperNetlinkTransport | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('returns the answer payload byte for byte, NUL padding included', async () => {
    t = await fakeOpen();
    expect((await t.request('CUST_REPORT')).equals(fx('report.txt'))).toBe(true);
  });

  it('sends the request text with one NUL and answers concurrent requests in order', async () => {
    t = await fakeOpen();
    const answers = await Promise.all(['TOGGLE 1 1 END', 'PRIORITY 1 2 END', 'DEPRECATE 1 END'].map((r) => t!.request(r)));
    expect(answers.map((a) => a.toString('latin1'))).toEqual(['echo:TOGGLE 1 1 END\0', 'echo:PRIORITY 1 2 END\0', 'echo:DEPRECATE 1 END\0']);
  });

  it("turns the helper's error frame into a DriverError", async () => {
    t = await fakeOpen();
    await expect(t.request('ERR')).rejects.toMatchObject({ name: 'DriverError', code: 'unavailable', message: 'netlink ERR: no answer from the kernel within 5000 ms' });
    expect((await t.request('X')).toString()).toBe('echo:X\0');
  });

  it('reports a helper that died, with its stderr, and starts a new one for the next request', async () => {
    const spawned: number[] = [];
    t = await fakeOpen({}, spawned);
    await expect(t.request('DIE')).rejects.toThrow(/the netlink helper exited \(status 1\): Traceback: boom/);
    expect((await t.request('X')).toString()).toBe('echo:X\0');
    expect(spawned).toHaveLength(2);
  });

  it('times out a request the helper never answers, and does not take a late answer for the next one', async () => {
    const spawned: number[] = [];
    t = await fakeOpen({}, spawned);
    await expect(t.request('SLOW')).rejects.toThrow('timed out after 300 ms waiting for an answer to SLOW');
    expect((await t.request('Y')).toString()).toBe('echo:Y\0');
    expect(spawned).toHaveLength(2);
  }, 10_000);

  it('fails to open with the reason the helper gives', async () => {
    await expect(fakeOpen({ FAIL_OPEN: '1' })).rejects.toThrow(
      'cannot open the Layer 4.5 netlink socket (protocol 25): netlink protocol 25: Protocol not supported (errno 93). The Linux driver needs root and the Layer 4.5 core (layer4_5.ko) loaded',
    );
  });

  it('refuses requests after close', async () => {
    t = await fakeOpen();
    await t.close();
    await expect(t.request('X')).rejects.toThrow('the netlink transport is closed');
  });
});

describe('RecordedNetlinkTransport', () => {
  it('plays answers in order and fails on an unexpected request', async () => {
    const t = new RecordedNetlinkTransport().expect('CUST_REPORT', fx('report-empty.txt'));
    expect((await t.request('CUST_REPORT')).equals(fx('report-empty.txt'))).toBe(true);
    await expect(t.request('CUST_REPORT')).rejects.toThrow('nothing recorded');
    t.expect('TOGGLE 1 1 END', Buffer.from('x'));
    await expect(t.request('TOGGLE 1 0 END')).rejects.toThrow('expected "TOGGLE 1 1 END", got "TOGGLE 1 0 END"');
    expect(t.sent).toEqual(['CUST_REPORT', 'CUST_REPORT', 'TOGGLE 1 0 END']);
  });
});
