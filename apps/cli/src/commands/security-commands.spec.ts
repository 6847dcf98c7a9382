import { parseSigningKey, parseTrustedKeys, Subjects } from '@nco/events';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliContext } from '../context';
import { memoryOutput } from '../output/io';
import { runCli } from '../program';

function context(reply: (subject: string, body: unknown) => unknown = () => ({})) {
  const output = memoryOutput();
  const asked: Array<{ subject: string; body: unknown }> = [];
  const ctx: CliContext = {
    output,
    env: {},
    now: () => new Date('2026-11-24T12:00:00Z'),
    onInterrupt: () => () => undefined,
    connect: async (settings) =>
      ({
        url: settings.servers.join(','),
        nc: {},
        close: async () => undefined,
        bus: { request: async (c: { subject: (p: unknown) => string }, p: unknown, body: unknown) => (asked.push({ subject: c.subject(p), body }), reply(c.subject(p), body)) },
      }) as never,
  };
  return { ctx, output, asked };
}

describe('nco keys and nco devices', () => {
  it('keys signing generate writes a 0600 key file and prints the entry devices trust', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nco-keys-'));
    const out = join(dir, 'signing.key');
    const t = context();
    expect(await runCli(['keys', 'signing', 'generate', '--kid', 'nco-2', '--out', out], t.ctx)).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const key = parseSigningKey(readFileSync(out, 'utf8'));
    const trusted = parseTrustedKeys(t.output.stdout.trim());
    expect([...trusted.keys()]).toEqual(['nco-2']);
    expect(trusted.get('nco-2')!.equals(key.publicKey)).toBe(true);
    // Never overwritten; the public entry can be printed again from the file.
    expect(await runCli(['keys', 'signing', 'generate', '--kid', 'nco-3', '--out', out], t.ctx)).toBe(1);
    const again = context();
    expect(await runCli(['keys', 'signing', 'public', out], again.ctx)).toBe(0);
    expect(again.output.stdout).toBe(t.output.stdout);
  });

  it('devices approve and revoke ask the orchestrator by MAC or fingerprint', async () => {
    const device = { mac: '02:00:00:00:00:01', hostId: 4, fingerprint: '0123456789abcdef', state: 'approved', enrolledBy: 'operator', createdAt: '2026-11-24T11:00:00Z', approvedAt: '2026-11-24T11:59:00Z', revokedAt: null };
    const t = context(() => ({ device }));
    expect(await runCli(['devices', 'approve', '0123456789abcdef'], t.ctx)).toBe(0);
    expect(t.asked).toEqual([{ subject: Subjects.cmd.devicesApprove.subject(), body: { device: '0123456789abcdef' } }]);
    expect(t.output.stdout).toBe('device 0123456789abcdef (02:00:00:00:00:01) is approved\n');
    const list = context(() => ({ devices: [device], total: 1 }));
    expect(await runCli(['devices', 'list', '--state', 'approved'], list.ctx)).toBe(0);
    expect(list.asked[0].body).toEqual({ state: 'approved', limit: 1000 });
    expect(list.output.stdout).toMatch(/02:00:00:00:00:01\s+0123456789abcdef\s+approved\s+4\s+operator\s+1m ago/);
  });
});
