import type { InstallPayload } from '@nco/cib';
import { NcoVariables } from '@nco/events';
import { createHash } from 'node:crypto';

/**
 * Where a built module's bytes come from (built_modules.artifact_ref):
 * - `stamp:<template ref>`: stamped from the flavor's compiled template at delivery (the bytes
 *   are deterministic, so only their sha256 and size were stored at build time);
 * - `os:<name>`: stored as is (the per-host kbuild toolchain).
 */
export type ArtifactSource = { kind: 'stamp'; templateRef: string } | { kind: 'stored'; ref: string } | { kind: 'unknown'; ref: string };

export function artifactSource(ref: string): ArtifactSource {
  if (ref.startsWith('stamp:os:')) return { kind: 'stamp', templateRef: ref.slice('stamp:'.length) };
  if (ref.startsWith('os:')) return { kind: 'stored', ref };
  return { kind: 'unknown', ref };
}

/** The NCO variables a host's module was stamped with at build time (same bytes again). */
export function stampVariables(p: InstallPayload, hexKey: string): NcoVariables {
  return { moduleId: p.moduleId, hexKey, activate: p.activeMode, priority: p.priority, applyNow: p.applyNow };
}

/** A key from security-svc (base64 of 32 bytes) as the NCO block writes it. */
export function hexKeyOf(keyBase64: string): string {
  return Buffer.from(keyBase64, 'base64').toString('hex');
}

export interface CheckedArtifact {
  sha256: string;
  size: number;
}

/**
 * The bytes about to be sent must be the ones recorded at build time: the same sha256 and size.
 * Returns the reason when they are not (never send a module that differs from its record).
 */
export function checkArtifact(bytes: Buffer, p: Pick<InstallPayload, 'artifactSha256' | 'artifactSize'>): { ok: CheckedArtifact } | { mismatch: string } {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== p.artifactSha256) {
    return { mismatch: `artifact mismatch: the module re-created for delivery has sha256 ${sha256}, the CIB records ${p.artifactSha256 || '(none)'}` };
  }
  if (p.artifactSize && bytes.length !== p.artifactSize) {
    return { mismatch: `artifact mismatch: the module re-created for delivery has ${bytes.length} bytes, the CIB records ${p.artifactSize}` };
  }
  return { ok: { sha256, size: bytes.length } };
}
