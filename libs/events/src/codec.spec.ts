import { decodeEnvelope, encode } from './codec';
import { makeEnvelope } from './envelope';
import { NcoError } from './errors';
import { Subjects } from './subjects';

const checkin = Subjects.device.checkin;
const valid = () => makeEnvelope(checkin.type, { mac: '02:00:00:00:00:01', release: '6.1.0-27-amd64' });

function refusal(data: Uint8Array): string {
  try {
    decodeEnvelope(data, checkin.envelope, checkin.maxBytes);
  } catch (e) {
    expect(e).toBeInstanceOf(NcoError);
    expect((e as NcoError).code).toBe('invalid_message');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('decodeEnvelope', () => {
  it('accepts a valid check-in and normalises the MAC', () => {
    const env = valid();
    env.body.mac = '02:AB:00:00:00:01';
    const out = decodeEnvelope(encode(env), checkin.envelope, checkin.maxBytes);
    expect(out.body.mac).toBe('02:ab:00:00:00:01');
  });

  it('refuses what is not JSON', () => {
    expect(refusal(new TextEncoder().encode('{nope'))).toBe('message is not valid JSON');
  });

  it('refuses an oversized message before parsing it', () => {
    const env = valid();
    (env.body as Record<string, unknown>).release = 'x'.repeat(5000);
    expect(refusal(encode(env))).toMatch(/bytes, limit is 4096/);
  });

  it('names the body field that is wrong', () => {
    const env = valid();
    (env.body as Record<string, unknown>).mac = 42;
    expect(refusal(encode(env))).toMatch(/dca\.checkin body: body\.mac/);
  });

  it('names a missing field', () => {
    const env = valid();
    delete (env.body as Record<string, unknown>).release;
    expect(refusal(encode(env))).toMatch(/release/);
  });

  it('refuses a broken envelope', () => {
    const env = { ...valid(), v: 9 };
    expect(refusal(encode(env))).toMatch(/invalid envelope: v/);
  });

  it('refuses a message of another type', () => {
    const env = { ...valid(), type: 'dca.report' };
    expect(refusal(encode(env))).toMatch(/type/);
  });
});

describe('contract subjects', () => {
  it('puts every device subject under nco.dev.<hostId>', () => {
    expect(Subjects.device.report.subject({ hostId: 42 })).toBe('nco.dev.42.report');
    expect(Subjects.device.report.pattern).toBe('nco.dev.*.report');
    expect(Subjects.device.requestReport.subject({ hostId: 7 })).toBe('nco.dev.7.cmd.report');
  });

  it('refuses a parameter that would escape its token', () => {
    expect(() => Subjects.device.report.subject({ hostId: '1.>' as unknown as number })).toThrow(/single token/);
  });
});
