import { createStamper, readNcoBlock } from '@nco/events';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactSource, checkArtifact, hexKeyOf, stampVariables } from './artifact';

const template = readFileSync(join(__dirname, '../../../../libs/events/src/artifact/__fixtures__/dns_tag.template.ko'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('artifactSource', () => {
  it('reads a stamped module as its template ref', () => {
    expect(artifactSource('stamp:os:template/abc.ko')).toEqual({ kind: 'stamp', templateRef: 'os:template/abc.ko' });
  });
  it('reads a stored module as is', () => {
    expect(artifactSource('os:host/4/2-abc.ko')).toEqual({ kind: 'stored', ref: 'os:host/4/2-abc.ko' });
  });
  it('does not guess at anything else', () => {
    expect(artifactSource('file:/tmp/x.ko').kind).toBe('unknown');
    expect(artifactSource('').kind).toBe('unknown');
  });
});

describe('re-stamping at delivery', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const payload = { moduleId: 5, activeMode: 1 as const, priority: 1200, applyNow: true };

  it('gives the same bytes as at build time, so the recorded sha256 matches', () => {
    const hex = hexKeyOf(key);
    expect(hex).toBe('07'.repeat(32));
    const atBuild = createStamper(template).stamp({ moduleId: 5, hexKey: hex, activate: 1, priority: 1200, applyNow: true });
    const again = createStamper(template).stamp(stampVariables(payload as never, hex));
    expect(checkArtifact(again, { artifactSha256: sha(atBuild), artifactSize: atBuild.length })).toEqual({ ok: { sha256: sha(atBuild), size: atBuild.length } });
    expect(readNcoBlock(again)).toMatchObject({ moduleId: 5, priority: 1200, activate: 1, applyNow: true, stamped: true });
  });

  it('names both hashes when the bytes differ from the record', () => {
    const stamped = createStamper(template).stamp(stampVariables(payload as never, hexKeyOf(key)));
    const r = checkArtifact(stamped, { artifactSha256: 'f'.repeat(64), artifactSize: stamped.length });
    expect(r).toEqual({ mismatch: expect.stringMatching(new RegExp(`sha256 ${sha(stamped)}, the CIB records f{64}`)) });
  });

  it('refuses a size that differs from the record', () => {
    const stamped = createStamper(template).stamp(stampVariables(payload as never, hexKeyOf(key)));
    expect(checkArtifact(stamped, { artifactSha256: sha(stamped), artifactSize: stamped.length + 1 })).toEqual({ mismatch: expect.stringMatching(/bytes, the CIB records/) });
  });
});
