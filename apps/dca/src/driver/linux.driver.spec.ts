import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stampedKo, testKey } from '../testing/stamped-artifacts';
import { checkChallengeAnswer } from './challenge';
import { DriverError } from './driver';
import { ExecFileFn, LinuxDriver, moduleNameOf } from './linux.driver';
import { RecordedNetlinkTransport } from './netlink-transport';

const fx = (name: string) => readFileSync(join(__dirname, '__fixtures__/netlink', name));
const REPORT = 'CUST_REPORT';

interface Call {
  file: string;
  args: string[];
  /** What the module file held when insmod ran (undefined for rmmod). */
  bytes?: Buffer;
  mode?: number;
}

describe('LinuxDriver', () => {
  let dir: string;
  let modulesDir: string;
  let statePath: string;
  let transport: RecordedNetlinkTransport;
  let calls: Call[];
  let failNext: Array<Error & { stderr?: string }>;
  let driver: LinuxDriver;

  const exec: ExecFileFn = async (file, args) => {
    const call: Call = { file, args };
    if (file === 'insmod' && existsSync(args[0])) {
      call.bytes = readFileSync(args[0]);
      call.mode = statSync(args[0]).mode & 0o777;
    }
    calls.push(call);
    const fail = failNext.shift();
    if (fail) throw fail;
    return { stdout: '', stderr: '' };
  };
  const failure = (stderr: string, code: number | string = 1) => Object.assign(new Error(`Command failed: ${stderr}`), { stderr, code });
  const open = () => LinuxDriver.open({ transport, modulesDir, statePath, exec, now: () => 1_764_000_000_000 });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dca-linux-'));
    modulesDir = join(dir, 'modules');
    statePath = join(dir, 'modules.json');
    transport = new RecordedNetlinkTransport();
    calls = [];
    failNext = [];
    driver = await open();
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(transport.pending).toBe(0);
  });

  it('reads the kernel module name from .modinfo', () => {
    expect(moduleNameOf(stampedKo({ moduleId: 1 }))).toBe('dns_tag');
    expect(() => moduleNameOf(Buffer.from('nope'))).toThrow(/not a valid kernel module/);
  });

  it('installs: writes <id>.ko atomically (0600), runs insmod with the parameters, keeps a record', async () => {
    const ko = stampedKo({ moduleId: 513, priority: 40 });
    transport.expect(REPORT, fx('report-empty.txt'));
    expect(await driver.install(ko, { moduleId: 513, params: { dst_addr: '10.0.0.1', dst_port: 53, verbose: true } })).toBe('installed');
    const path = join(modulesDir, '513.ko');
    expect(calls).toEqual([{ file: 'insmod', args: [path, 'dst_addr=10.0.0.1', 'dst_port=53', 'verbose=1'], bytes: ko, mode: 0o600 }]);
    expect(readdirSync(modulesDir)).toEqual(['513.ko']);
    expect(driver.record(513)).toMatchObject({ moduleId: 513, name: 'dns_tag', file: path, size: ko.length, params: { dst_port: 53 } });
    // No key on disk beyond the module file itself.
    expect(readFileSync(statePath, 'utf8')).not.toContain(testKey(513));
  });

  it('answers unchanged for the same artifact already loaded; refuses another artifact under a loaded id', async () => {
    const ko = stampedKo({ moduleId: 513 });
    transport.expect(REPORT, fx('report-empty.txt')).expect(REPORT, fx('report.txt')).expect(REPORT, fx('report.txt'));
    await driver.install(ko, { moduleId: 513, params: {} });
    expect(await driver.install(ko, { moduleId: 513, params: {} })).toBe('unchanged');
    expect(calls).toHaveLength(1);
    // 600 is loaded (the report says so) but this agent has no record of it.
    await expect(driver.install(stampedKo({ moduleId: 600 }), { moduleId: 600, params: {} })).rejects.toMatchObject({
      message: 'module 600 is already loaded; revoke it first',
      code: 'conflict',
    });
  });

  it('refuses a second module with the same kernel module name while the first is loaded', async () => {
    transport.expect(REPORT, fx('report-empty.txt')).expect(REPORT, fx('report.txt'));
    await driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} });
    await expect(driver.install(stampedKo({ moduleId: 514 }), { moduleId: 514, params: {} })).rejects.toThrow(
      'kernel module name dns_tag is already loaded as module 513; a kernel holds one module per name',
    );
    expect(calls).toHaveLength(1);
  });

  it('refuses a bad artifact or parameters before touching the disk or the kernel', async () => {
    await expect(driver.install(stampedKo({ moduleId: 5 }), { moduleId: 6, params: {} })).rejects.toThrow('artifact is for module 5, not 6');
    await expect(driver.install(stampedKo({ moduleId: 6 }), { moduleId: 6, params: { x: 'a"b' } })).rejects.toThrow('module parameter x');
    expect(calls).toEqual([]);
    expect(readdirSync(modulesDir)).toEqual([]);
  });

  it('a failed insmod deletes the file and keeps no record; "File exists" (id or priority taken) is a conflict', async () => {
    transport.expect(REPORT, fx('report-empty.txt')).expect(REPORT, fx('report-empty.txt'));
    failNext.push(failure('insmod: ERROR: could not insert module /x/513.ko: File exists\n'));
    await expect(driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} })).rejects.toMatchObject({
      message: 'insmod dns_tag (module 513) failed: insmod: ERROR: could not insert module /x/513.ko: File exists',
      code: 'conflict',
    });
    failNext.push(failure('insmod: ERROR: could not insert module /x/513.ko: Unknown symbol in module\n'));
    await expect(driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(readdirSync(modulesDir)).toEqual([]);
    expect(driver.record(513)).toBeUndefined();
  });

  it('says so when insmod is missing', async () => {
    transport.expect(REPORT, fx('report-empty.txt'));
    failNext.push(Object.assign(new Error('spawn insmod ENOENT'), { code: 'ENOENT' }));
    await expect(driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} })).rejects.toMatchObject({
      message: 'insmod was not found (kmod is needed to load modules)',
      code: 'unavailable',
    });
  });

  it('removes: rmmod <name>, deletes the file; a repeat answers already-revoked without rmmod', async () => {
    transport.expect(REPORT, fx('report-empty.txt'));
    await driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} });
    expect(await driver.remove(513)).toBe('removed');
    expect(calls[1]).toEqual({ file: 'rmmod', args: ['dns_tag'] });
    expect(readdirSync(modulesDir)).toEqual([]);
    expect(await driver.remove(513)).toBe('already-revoked');
    expect(calls).toHaveLength(2);
  });

  it('remove goes on when the module is no longer loaded, and refuses when rmmod fails otherwise', async () => {
    transport.expect(REPORT, fx('report-empty.txt'));
    await driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: {} });
    failNext.push(failure('rmmod: ERROR: Module dns_tag is in use\n'));
    await expect(driver.remove(513)).rejects.toMatchObject({ message: 'rmmod dns_tag (module 513) failed: rmmod: ERROR: Module dns_tag is in use', code: 'conflict' });
    expect(driver.record(513)).toBeDefined();
    failNext.push(failure('rmmod: ERROR: Module dns_tag is not currently loaded\n'));
    expect(await driver.remove(513)).toBe('removed');
    expect(driver.record(513)).toBeUndefined();
  });

  it('remove of a module it has no record of: the file in the modules dir names it, the core may list it as revoked or not at all; loaded under an unknown name is not_found', async () => {
    writeFileSync(join(modulesDir, '700.ko'), stampedKo({ moduleId: 700 }));
    expect(await driver.remove(700)).toBe('removed');
    expect(calls).toEqual([{ file: 'rmmod', args: ['dns_tag'] }]);
    expect(existsSync(join(modulesDir, '700.ko'))).toBe(false);
    transport.expect(REPORT, fx('report.txt')).expect(REPORT, fx('report.txt')).expect(REPORT, fx('report.txt'));
    expect(await driver.remove(4)).toBe('already-revoked'); // report.txt lists 4 as Revoked
    expect(await driver.remove(999)).toBe('absent'); // in none of the core's lists
    await expect(driver.remove(600)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('module 600 was not installed by this agent') });
  });

  it('keeps its records across a restart', async () => {
    transport.expect(REPORT, fx('report-empty.txt'));
    await driver.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: { dst_port: 53 } });
    const again = await open();
    expect(again.record(513)).toEqual(driver.record(513));
    transport.expect(REPORT, fx('report.txt'));
    expect(await again.install(stampedKo({ moduleId: 513 }), { moduleId: 513, params: { dst_port: 53 } })).toBe('unchanged');
    expect(await again.remove(513)).toBe('removed');
    expect(await (await open()).remove(513)).toBe('already-revoked');
  });

  it('relays the report, toggle, priority and deprecate over netlink with the recorded answers', async () => {
    transport
      .expect(REPORT, fx('report.txt'))
      .expect('TOGGLE 513 0 END', fx('toggle-ok.txt'))
      .expect('TOGGLE 99 1 END', fx('toggle-refused.txt'))
      .expect('PRIORITY 513 40 END', fx('priority-ok.txt'))
      .expect('PRIORITY 513 7 END', fx('priority-refused.txt'))
      .expect('DEPRECATE 513 END', fx('deprecate-ok.txt'))
      .expect('DEPRECATE 99 END', fx('deprecate-refused.txt'));
    expect((await driver.report()).Installed.map((m) => m.ID)).toEqual([513, 600]);
    expect(await driver.toggle(513, 0)).toEqual({ ID: 513, Result: 1 });
    expect(await driver.toggle(99, 1)).toEqual({ ID: 99, Result: 0 });
    expect(await driver.setPriority(513, 40)).toEqual({ ID: 513, Result: 1 });
    expect(await driver.setPriority(513, 7)).toEqual({ ID: 513, Result: 0 });
    expect(await driver.deprecate(513)).toEqual({ ID: 513, Result: 1 });
    expect(await driver.deprecate(99)).toEqual({ ID: 99, Result: 0 });
  });

  it('sends a challenge as hex and returns the core answer', async () => {
    const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const msg = Buffer.from('d27a03cf2eaf6d801066c4cd01543e20', 'hex');
    transport.expect(`CHALLENGE 513 ${iv.toString('hex')} ${msg.toString('hex')} END`, fx('challenge.txt'));
    const answer = await driver.challenge(513, iv, msg);
    expect(answer.IV).toBe('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    expect(checkChallengeAnswer(Buffer.from(testKey(513), 'hex'), Buffer.from('4e434f2d6e6f6e63', 'hex'), 513, answer)).toBe(true);
    await expect(driver.challenge(513, iv, Buffer.alloc(15))).rejects.toThrow('challenge msg must be 16 bytes');
  });

  it('turns garbage and transport failures into DriverErrors', async () => {
    transport
      .expect(REPORT, fx('garbage-truncated-report.txt'))
      .expect('TOGGLE 513 1 END', fx('garbage-unterminated.txt'))
      .expect('DEPRECATE 513 END', new DriverError('netlink DEPRECATE: no answer from the kernel within 5000 ms', 'unavailable'));
    await expect(driver.report()).rejects.toThrow("the core's answer to CUST_REPORT is not terminated by ';'");
    await expect(driver.toggle(513, 1)).rejects.toThrow("the core's answer to TOGGLE is not terminated by ';'");
    await expect(driver.deprecate(513)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('no answer from the kernel') });
  });

  it('refuses a state file that is not its record, and closes its transport', async () => {
    writeFileSync(statePath, '{"v":1,"installed":5}');
    await expect(open()).rejects.toThrow(/is not a DCA module record/);
    await driver.close();
    expect(transport.closed).toBe(true);
  });
});
