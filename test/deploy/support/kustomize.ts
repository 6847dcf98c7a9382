import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from './repo';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * The kustomize that renders: `kubectl kustomize` (kubectl embeds kustomize; the machine image
 * ships kubectl with kustomize v5) or a stand-alone `kustomize build`. Nothing is downloaded.
 */
export function kustomizeCommand(): { cmd: string; args: string[]; version: string } {
  const kubectl = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (kubectl.status === 0) {
    const version = (JSON.parse(kubectl.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
    if (/^v[5-9]\./.test(version)) return { cmd: 'kubectl', args: ['kustomize'], version: `kubectl's kustomize ${version}` };
  }
  const standalone = spawnSync('kustomize', ['version'], { encoding: 'utf8' });
  if (standalone.status === 0 && /v[5-9]\./.test(standalone.stdout)) return { cmd: 'kustomize', args: ['build'], version: `kustomize ${standalone.stdout.trim()}` };
  throw new Error('no kustomize v5: install kubectl (it embeds kustomize) or kustomize; k8s/ cannot be rendered without it');
}

/** New keys as an operator makes them: deploy/new-keys.sh (openssl), as KEY=value lines. */
export function newKeys(kid = 'ci-1'): Record<string, string> {
  const out = execFileSync(join(REPO, 'deploy', 'new-keys.sh'), [kid], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * A copy of k8s/ with the production keys an operator would add as docs/deploy.md says
 * (secrets/*.env from the examples plus deploy/new-keys.sh's lines, the public key in
 * trusted-keys.env), so that every overlay renders without touching the working tree.
 */
export function k8sTreeWithSecrets(): { dir: string; keys: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'nco-k8s-'));
  cpSync(join(REPO, 'k8s'), join(dir, 'k8s'), { recursive: true, filter: (src) => !/secrets\/[^/]+\.env$/.test(src) });
  const production = join(dir, 'k8s', 'overlays', 'production');
  const secrets = join(production, 'secrets');
  for (const f of readdirSync(secrets).filter((n) => n.endsWith('.env.example'))) copyFileSync(join(secrets, f), join(secrets, f.replace(/\.example$/, '')));
  const keys = newKeys();
  appendFileSync(join(secrets, 'kek.env'), `NCO_KEK=${keys.NCO_KEK}\n`);
  appendFileSync(join(secrets, 'signing.env'), `NCO_SIGNING_KEY=${keys.NCO_SIGNING_KEY}\n`);
  appendFileSync(join(secrets, 'enroll.env'), `NCO_ENROLL_TOKEN=${keys.NCO_ENROLL_TOKEN}\n`);
  appendFileSync(join(secrets, 'report-key.env'), `NCO_REPORT_KEY=${keys.NCO_REPORT_KEY}\n`);
  const trusted = join(production, 'trusted-keys.env');
  writeFileSync(trusted, readFileSync(trusted, 'utf8').replace(/^DCA_TRUSTED_KEYS=$/m, `DCA_TRUSTED_KEYS=${keys.DCA_TRUSTED_KEYS}`));
  return { dir: join(dir, 'k8s'), keys, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Renders a kustomization directory into its objects. */
export function render(kustomizationDir: string): K8sObject[] {
  const { cmd, args } = kustomizeCommand();
  const out = execFileSync(cmd, [...args, kustomizationDir], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  }).filter(Boolean);
}
