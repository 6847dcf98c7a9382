import { makeEnvelope } from '../envelope';
import { generateDeviceKeys } from './device-keys';
import { deriveReportMacKey, generateReportKey, macDeviceReport, parseReportKeys, verifyReportMac } from './report-mac';

const [nco] = parseReportKeys(generateReportKey('r1').privateSpec);
const device = generateDeviceKeys();
const other = generateDeviceKeys();
const subject = (hostId: number) => `nco.dev.${hostId}.report`;

/** A report as it arrives: MAC'ed by the device with its K, then serialised and parsed. */
function report(hostId: number, key: Buffer, body: unknown = { seq: 1, reason: 'interval', modules: [] }) {
  const env = macDeviceReport(makeEnvelope('dca.report', body, { hostId }), subject(hostId), nco.kid, key);
  return JSON.parse(JSON.stringify(env));
}

describe('report MACs', () => {
  const ncoSide = (encPublic: string, hostId: number) => deriveReportMacKey(nco.privateKey, encPublic, hostId);

  it('device and NCO derive the same key, and a report MAC\'ed with it verifies', () => {
    const k = deriveReportMacKey(device.enc, nco.publicKey, 7);
    expect(k.equals(ncoSide(device.encPublic, 7))).toBe(true);
    const env = report(7, k);
    expect(env.sig).toMatchObject({ kid: 'r1', alg: 'hmac-sha256' });
    expect(verifyReportMac(env, subject(7), ncoSide(device.encPublic, 7))).toBe(true);
  });

  it('refuses a report MAC\'ed by another device (its own key pair)', () => {
    const forged = report(7, deriveReportMacKey(other.enc, nco.publicKey, 7));
    expect(verifyReportMac(forged, subject(7), ncoSide(device.encPublic, 7))).toBe(false);
  });

  it('refuses a tampered body', () => {
    const env = report(7, deriveReportMacKey(device.enc, nco.publicKey, 7));
    env.body.seq = 2;
    expect(verifyReportMac(env, subject(7), ncoSide(device.encPublic, 7))).toBe(false);
  });

  it('refuses a report for a wrong host id (key, envelope and subject are bound to the host)', () => {
    const k7 = deriveReportMacKey(device.enc, nco.publicKey, 7);
    expect(k7.equals(ncoSide(device.encPublic, 8))).toBe(false);
    const env = report(7, k7);
    expect(verifyReportMac(env, subject(8), ncoSide(device.encPublic, 7))).toBe(false);
    env.hostId = 8;
    expect(verifyReportMac(env, subject(7), ncoSide(device.encPublic, 7))).toBe(false);
  });

  it('refuses unsigned and Ed25519-signed envelopes, and garbage MACs', () => {
    const k = ncoSide(device.encPublic, 7);
    const env = report(7, deriveReportMacKey(device.enc, nco.publicKey, 7));
    expect(verifyReportMac({ ...env, sig: undefined }, subject(7), k)).toBe(false);
    expect(verifyReportMac({ ...env, sig: { ...env.sig, alg: 'ed25519' } }, subject(7), k)).toBe(false);
    expect(verifyReportMac({ ...env, sig: { ...env.sig, value: 'AAAA' } }, subject(7), k)).toBe(false);
  });

  it('parses key lists and refuses what is not an X25519 private key', () => {
    const two = parseReportKeys(`${generateReportKey('a').privateSpec},${generateReportKey('b').privateSpec}`);
    expect(two.map((k) => k.kid)).toEqual(['a', 'b']);
    expect(() => parseReportKeys('nokid')).toThrow(/kid:base64/);
    expect(() => parseReportKeys('x:AAAA')).toThrow(/PKCS#8/);
    const spec = generateReportKey('d').privateSpec;
    expect(() => parseReportKeys(`${spec},${spec}`)).toThrow(/twice/);
  });
});
