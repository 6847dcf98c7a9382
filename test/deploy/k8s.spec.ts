import { parseReportKeys, parseSigningKey, parseTrustedKeys } from '@nco/events';
import { spawnSync } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppSettings } from './support/app-settings';
import { k8sTreeWithSecrets, K8sObject, kustomizeCommand, render } from './support/kustomize';
import { openApiProblems, unknownFieldProblems } from './support/kubernetes-schema';
import { allows, Endpoint, selects } from './support/network-policy';
import { appHttpPorts, REPO, SERVICES } from './support/repo';

/**
 * k8s/: every overlay renders with a real kustomize, every object passes the Kubernetes API
 * schemas (and has no field the API does not know), and the rendered manifests do what
 * docs/deploy.md says: probes on the health endpoints, budgets, exact DCA privileges, settings
 * the apps accept, and network policies that let through only what must talk.
 */

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Record<string, unknown> & { capabilities?: { add?: string[]; drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; hostPath?: { path: string }; configMap?: { name: string }; secret?: { secretName: string } }>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  dnsPolicy?: string;
  nodeSelector?: Record<string, string>;
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
const template = (o: K8sObject) => (o.spec as { template: PodTemplate }).template;
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const get = (objects: K8sObject[], kind: string, name: string) => {
  const o = find(objects, kind, name);
  if (!o) throw new Error(`${kind}/${name} is not rendered`);
  return o;
};

/** The program a container runs: the entrypoint's first argument (or the one named in its shell command). */
function appOf(c: Container): string | undefined {
  if (c.args?.length) return c.args[0];
  return c.command?.join(' ').match(/entrypoint\.mjs (\S+)/)?.[1];
}

/** The environment a container starts with: its ConfigMaps, Secrets and literals (downward API values stand in). */
function environmentOf(objects: K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, get(objects, 'ConfigMap', from.configMapRef.name).data as Record<string, string>);
    if (from.secretRef) {
      const data = get(objects, 'Secret', from.secretRef.name).data as Record<string, string>;
      for (const [k, v] of Object.entries(data)) env[k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const value = (get(objects, 'Secret', ref.name).data as Record<string, string>)[ref.key];
      if (value === undefined) throw new Error(`Secret ${ref.name} has no key ${ref.key} (env ${e.name})`);
      env[e.name] = Buffer.from(value, 'base64').toString('utf8');
    } else env[e.name] = e.value ?? (e.valueFrom ? '10.10.0.5' : '');
  }
  return env;
}

/** The Secret keys a container can read: whole Secrets (envFrom) and single keys (env). */
function secretKeysOf(objects: K8sObject[], c: Container): string[] {
  const keys = (c.envFrom ?? []).filter((f) => f.secretRef).flatMap((f) => Object.keys(get(objects, 'Secret', f.secretRef!.name).data as Record<string, string>));
  for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) keys.push(e.valueFrom.secretKeyRef.key);
  return keys.sort();
}

function endpoint(objects: K8sObject[], kind: string, name: string): Endpoint {
  const t = template(get(objects, kind, name));
  const namedPorts: Record<string, number> = {};
  for (const c of t.spec.containers) for (const p of c.ports ?? []) if (p.name) namedPorts[p.name] = p.containerPort;
  return { labels: t.metadata.labels, namedPorts };
}

const overlays = readdirSync(join(REPO, 'k8s', 'overlays'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const PORTS = appHttpPorts();
const APPS = [...SERVICES, 'dashboard'];

describe('k8s/', () => {
  let tree: ReturnType<typeof k8sTreeWithSecrets>;
  const rendered: Record<string, K8sObject[]> = {};

  beforeAll(() => {
    tree = k8sTreeWithSecrets();
    for (const o of overlays) rendered[o] = render(join(tree.dir, 'overlays', o));
  });
  afterAll(() => tree?.cleanup());

  it('has the dev and production overlays and renders them with a real kustomize', () => {
    expect(overlays).toEqual(expect.arrayContaining(['dev', 'production']));
    expect(kustomizeCommand().version).toMatch(/kustomize/);
    for (const o of overlays) expect(rendered[o].length).toBeGreaterThan(30);
  });

  it('reports a broken kustomization instead of rendering it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nco-k8s-bad-'));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      expect(() => render(dir)).toThrow(/missing\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the validators', () => {
    const deployment = (container: Record<string, unknown>, replicas: unknown = 1) =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { replicas, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1', ...container }] } } },
      }) as unknown as K8sObject;

    it('pass a correct object', () => {
      const ok = deployment({ readinessProbe: { httpGet: { path: '/health/ready', port: 'http' } } });
      expect(openApiProblems([ok])).toEqual([]);
      expect(unknownFieldProblems([ok])).toEqual([]);
    });

    it('catch a wrong type, a missing required field and an unknown kind', () => {
      expect(openApiProblems([deployment({}, 'two')])).toEqual([expect.stringMatching(/Deployment\/x: .*replicas must be integer/)]);
      expect(openApiProblems([deployment({ ports: [{ name: 'http' }] })])).toEqual([expect.stringMatching(/containerPort/)]);
      expect(openApiProblems([{ ...deployment({}), kind: 'Deploymnet' }])).toEqual([expect.stringMatching(/not a Kubernetes API kind/)]);
    });

    it('catch a misspelt field deep inside a pod template', () => {
      const typo = deployment({ readinesProbe: { httpGet: { path: '/health/ready', port: 'http' } } });
      expect(openApiProblems([typo])).toEqual([]); // the OpenAPI schemas allow unknown fields…
      expect(unknownFieldProblems([typo])).toEqual([expect.stringMatching(/Deployment\/x: .*readinesProbe.* does not exist/)]); // …the type check does not
    });

    it('evaluate network policies: open without policies, closed by a default deny, opened by a rule', () => {
      const a = { labels: { app: 'a' } };
      const b = { labels: { app: 'b' }, namedPorts: { http: 80 } };
      const policy = (name: string, spec: object) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'n' }, spec }) as K8sObject;
      const deny = policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const aToB = policy('a-to-b', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 'http' }] }] });
      const bFromA = policy('b-from-a', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] });
      expect(allows([], a, b, 80)).toBe(true);
      expect(allows([deny], a, b, 80)).toBe(false);
      expect(allows([deny, aToB], a, b, 80)).toBe(false); // b's ingress still closed
      expect(allows([deny, aToB, bFromA], a, b, 80)).toBe(true);
      expect(allows([deny, aToB, bFromA], a, b, 81)).toBe(false);
      expect(allows([deny, aToB, bFromA], b, a, 80)).toBe(false);
    });
  });

  describe.each(overlays)('overlay %s', (overlay) => {
    const objects = () => rendered[overlay];

    it('every object passes the Kubernetes OpenAPI schemas', () => {
      expect(openApiProblems(objects())).toEqual([]);
    });

    it('no object has a field the Kubernetes API does not know', () => {
      expect(unknownFieldProblems(objects())).toEqual([]);
    }, 60_000);

    it('puts everything but the Namespace into one namespace', () => {
      const namespaces = new Set(objects().filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));
      expect([...namespaces]).toEqual([find(objects(), 'Namespace', [...namespaces][0]!)?.metadata.name]);
    });

    it.each(APPS)('%s: a Deployment with probes on its health endpoints, resources, a Service and a PodDisruptionBudget', (app) => {
      const d = get(objects(), 'Deployment', app);
      const spec = d.spec as { replicas: number; selector: { matchLabels: Record<string, string> } };
      expect(spec.replicas).toBeGreaterThanOrEqual(overlay === 'production' ? 2 : 1);
      const t = template(d);
      const [c] = t.spec.containers;
      expect(appOf(c)).toBe(app);
      const http = c.ports!.find((p) => p.name === 'http');
      expect(http?.containerPort).toBe(PORTS[app]);
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      for (const kind of ['requests', 'limits'] as const) expect(Object.keys(c.resources?.[kind] ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(t.spec.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(t.spec.automountServiceAccountToken).toBe(false);

      const pdb = objects().find((o) => o.kind === 'PodDisruptionBudget' && selects((o.spec as { selector: object }).selector, t.metadata.labels));
      expect(pdb).toBeDefined();
      const svc = get(objects(), 'Service', app).spec as { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> };
      expect(selects({ matchLabels: svc.selector }, t.metadata.labels)).toBe(true);
      expect(svc.ports).toEqual([expect.objectContaining({ port: PORTS[app], targetPort: 'http' })]);
    });

    it('every workload starts with settings its app accepts (ConfigMaps, Secrets and env as rendered)', () => {
      const checked: string[] = [];
      for (const w of objects().filter((o) => WORKLOADS.includes(o.kind))) {
        for (const c of template(w).spec.containers) {
          const app = appOf(c);
          if (!app || !c.image.includes('layer45/nco')) continue; // NATS, PostgreSQL, Redis
          expect(() => loadAppSettings(app, environmentOf(objects(), c))).not.toThrow();
          checked.push(app);
        }
      }
      expect(checked).toEqual(expect.arrayContaining([...APPS, 'dca', 'migrate']));
    });

    it('only security-svc sees the KEK; the DCAs see only the enrollment token (and the fleet its identity seed), the dashboard no secret', () => {
      const secretsOf: Record<string, string[]> = { dca: ['NCO_ENROLL_TOKEN'], fleet: ['FLEET_IDENTITY_SEED', 'NCO_ENROLL_TOKEN'], dashboard: [] };
      for (const w of objects().filter((o) => WORKLOADS.includes(o.kind))) {
        for (const c of template(w).spec.containers) {
          const env = c.image.includes('layer45/nco') ? environmentOf(objects(), c) : {};
          const app = appOf(c) ?? '';
          if (app !== 'security-svc') expect(env.NCO_KEK).toBeUndefined();
          if (app in secretsOf) expect([app, secretKeysOf(objects(), c)]).toEqual([app, secretsOf[app]]);
        }
      }
    });

    it('enrolls devices at first check-in: the orchestrator and every agent share the bootstrap token; only the fleet has the identity seed', () => {
      const o = objects();
      const token = environmentOf(o, template(get(o, 'Deployment', 'orchestrator')).spec.containers[0]).NCO_ENROLL_TOKEN;
      expect(token?.length).toBeGreaterThanOrEqual(16);
      if (overlay === 'production') expect(token).toBe(tree.keys.NCO_ENROLL_TOKEN);
      const agents = [get(o, 'DaemonSet', 'dca'), find(o, 'Deployment', 'fleet')].filter((a): a is K8sObject => !!a);
      for (const a of agents) expect([a.metadata.name, environmentOf(o, template(a).spec.containers[0]).DCA_ENROLL_TOKEN]).toEqual([a.metadata.name, token]);
      for (const w of o.filter((x) => WORKLOADS.includes(x.kind))) {
        for (const c of [...template(w).spec.containers, ...((template(w).spec as { initContainers?: Container[] }).initContainers ?? [])]) {
          const app = appOf(c) ?? '';
          const keys = secretKeysOf(o, c);
          expect([w.metadata.name, c.name, keys.includes('NCO_ENROLL_TOKEN')]).toEqual([w.metadata.name, c.name, ['orchestrator', 'dca', 'fleet'].includes(app)]);
          expect([w.metadata.name, c.name, keys.includes('FLEET_IDENTITY_SEED')]).toEqual([w.metadata.name, c.name, app === 'fleet']);
        }
      }
      const fleet = find(o, 'Deployment', 'fleet');
      if (fleet) expect(environmentOf(o, template(fleet).spec.containers[0]).FLEET_IDENTITY_SEED.length).toBeGreaterThanOrEqual(32);
    });

    it('keys report MACs: the orchestrator and monitor-svc share the X25519 report key; no other container sees it', () => {
      const o = objects();
      const reportKeyOf = (app: string) => environmentOf(o, template(get(o, 'Deployment', app)).spec.containers[0]).NCO_REPORT_KEY;
      const spec = reportKeyOf('orchestrator');
      expect(parseReportKeys(spec).map((k) => k.privateKey.asymmetricKeyType)).toEqual(['x25519']);
      expect(reportKeyOf('monitor-svc')).toBe(spec);
      if (overlay === 'production') expect(spec).toBe(tree.keys.NCO_REPORT_KEY);
      for (const w of o.filter((x) => WORKLOADS.includes(x.kind))) {
        for (const c of [...template(w).spec.containers, ...((template(w).spec as { initContainers?: Container[] }).initContainers ?? [])]) {
          const app = appOf(c) ?? '';
          expect([w.metadata.name, c.name, secretKeysOf(o, c).includes('NCO_REPORT_KEY')]).toEqual([w.metadata.name, c.name, ['orchestrator', 'monitor-svc'].includes(app)]);
        }
      }
    });

    it('signs device commands with a key every agent trusts; services all sign', () => {
      const o = objects();
      const der = (k: KeyObject | undefined) => k?.export({ format: 'der', type: 'spki' });
      const signing = parseSigningKey(environmentOf(o, template(get(o, 'Deployment', 'deploy-svc')).spec.containers[0]).NCO_SIGNING_KEY);
      for (const app of SERVICES) expect(environmentOf(o, template(get(o, 'Deployment', app)).spec.containers[0]).NCO_SIGNING_KEY).toBe(environmentOf(o, template(get(o, 'Deployment', 'deploy-svc')).spec.containers[0]).NCO_SIGNING_KEY);
      const agents = [get(o, 'DaemonSet', 'dca'), find(o, 'Deployment', 'fleet')].filter((a): a is K8sObject => !!a);
      for (const a of agents) {
        const env = environmentOf(o, template(a).spec.containers[0]);
        expect(env.DCA_ALLOW_UNSIGNED).toBeUndefined();
        expect(der(parseTrustedKeys(env.DCA_TRUSTED_KEYS).get(signing.kid))).toEqual(der(signing.publicKey));
      }
    });

    it('names every image with a tag, and pins the NCO images outside dev', () => {
      for (const w of objects().filter((o) => WORKLOADS.includes(o.kind))) {
        for (const c of template(w).spec.containers) {
          expect(c.image).toMatch(/:[\w.-]+$/);
          expect(c.image).not.toMatch(/:latest$/);
          if (overlay !== 'dev' && c.image.includes('layer45/nco')) expect(c.image).toMatch(/:\d+\.\d+\.\d+$/);
        }
      }
    });

    it('runs the DCA as a DaemonSet with exactly what loading kernel modules needs', () => {
      const ds = get(objects(), 'DaemonSet', 'dca');
      const spec = template(ds).spec;
      expect(spec.hostNetwork).toBe(true); // netlink to the core in the host's namespace
      expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
      expect(spec.hostPID ?? false).toBe(false);
      expect(spec.hostIPC ?? false).toBe(false);
      expect(spec.nodeSelector).toEqual({ 'layer45.io/core': 'true' });
      expect(spec.containers).toHaveLength(1);
      const [c] = spec.containers;
      expect(appOf(c)).toBe('dca');
      expect(c.image).toMatch(/layer45\/nco-dca:/);
      expect(c.securityContext).toMatchObject({ runAsUser: 0, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(c.securityContext!.capabilities!.drop).toEqual(['ALL']);
      expect([...c.securityContext!.capabilities!.add!].sort()).toEqual(['NET_ADMIN', 'SYS_MODULE']);
      const hostPaths = (spec.volumes ?? []).filter((v) => v.hostPath);
      expect(hostPaths.map((v) => v.hostPath!.path).sort()).toEqual(['/lib/modules', '/var/lib/nco-dca']);
      const mount = (volume: string) => c.volumeMounts!.find((m) => m.name === volume)!;
      expect(mount(hostPaths.find((v) => v.hostPath!.path === '/lib/modules')!.name)).toMatchObject({ mountPath: '/lib/modules', readOnly: true });
      expect(mount(hostPaths.find((v) => v.hostPath!.path === '/var/lib/nco-dca')!.name).mountPath).toBe(environmentOf(objects(), c).DCA_STATE_DIR);
      expect(environmentOf(objects(), c).DCA_DRIVER).toBe('linux');
    });

    it('starts the DCA through a shell command that reaches the agent (run here under sh)', () => {
      const [c] = template(get(objects(), 'DaemonSet', 'dca')).spec.containers;
      expect(c.command!.slice(0, 4)).toEqual(['/usr/bin/tini', '--', '/bin/sh', '-c']);
      const script = c.command![4].replaceAll('/app/', `${REPO}/`);
      const res = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, DCA_DRIVER: 'bogus' } });
      expect(res.stderr).toMatch(/^dca: invalid configuration:[\s\S]*DCA_DRIVER/);
      expect(res.status).toBe(2);
    });

    it('holds every service that uses the CIB until the migrations are applied', () => {
      expect(readFileSync(join(REPO, 'libs', 'cib', 'src', 'cli', 'migrate.ts'), 'utf8')).toContain("pending: ${pending ? 'yes' : 'no'}");
      for (const app of SERVICES) {
        const t = template(get(objects(), 'Deployment', app));
        const init = (t.spec as PodSpec & { initContainers?: Container[] }).initContainers ?? [];
        expect(init.map((c) => c.name)).toEqual(['wait-for-migrations']);
        expect(init[0].image).toBe(t.spec.containers[0].image);
        expect(init[0].command!.join(' ')).toMatch(/until node \/app\/deploy\/entrypoint\.mjs migrate status \| grep -qx 'pending: no';/);
      }
    });

    it('has a migration Job that runs migrate up with the database secret only', () => {
      const job = get(objects(), 'Job', 'nco-migrate');
      const [c] = template(job).spec.containers;
      expect(c.args).toEqual(['migrate', 'up']);
      expect(c.envFrom?.map((f) => f.secretRef?.name.replace(/-[a-z0-9]{10}$/, ''))).toEqual(['nco-database']);
    });

    it('runs NATS with JetStream as a StatefulSet whose configuration nats-server accepts', () => {
      const sts = get(objects(), 'StatefulSet', 'nats');
      const replicas = (sts.spec as { replicas: number }).replicas;
      expect(replicas).toBe(overlay === 'dev' ? 1 : 3);
      expect((sts.spec as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates).toHaveLength(1);
      const configName = template(sts).spec.volumes!.find((v) => v.configMap)!.configMap!.name;
      const conf = (get(objects(), 'ConfigMap', configName).data as Record<string, string>)['nats.conf'];
      expect(conf).toMatch(/jetstream\s*\{/);
      const routes = conf.match(/nats:\/\/nats-\d+\.nats-cluster:6222/g) ?? [];
      expect(routes).toHaveLength(replicas > 1 ? replicas : 0);
      const dir = mkdtempSync(join(tmpdir(), 'nco-nats-conf-'));
      try {
        writeFileSync(join(dir, 'nats.conf'), conf);
        const check = spawnSync('nats-server', ['-c', join(dir, 'nats.conf'), '-t'], { encoding: 'utf8', env: { ...process.env, POD_NAME: 'nats-0' } });
        expect(`${check.stdout}${check.stderr}`).toMatch(/is valid/);
        expect(check.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('denies everything by default and opens only the paths the NCO needs', () => {
      const o = objects();
      const deny = o.find((p) => p.kind === 'NetworkPolicy' && JSON.stringify((p.spec as { podSelector: object }).podSelector) === '{}' && !(p.spec as { egress?: unknown }).egress && !(p.spec as { ingress?: unknown }).ingress);
      expect((deny?.spec as { policyTypes: string[] })?.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);

      const pod = (name: string) => endpoint(o, find(o, 'Deployment', name) ? 'Deployment' : find(o, 'StatefulSet', name) ? 'StatefulSet' : 'Job', name);
      const nats = pod('nats');
      const hasDatastores = !!find(o, 'StatefulSet', 'postgres');
      for (const app of SERVICES) {
        expect(allows(o, pod(app), nats, 4222)).toBe(true);
        if (hasDatastores) expect(allows(o, pod(app), pod('postgres'), 5432)).toBe(true);
        if (hasDatastores) expect(allows(o, pod(app), pod('redis'), 6379)).toBe(app === 'construct-svc');
        for (const other of SERVICES) expect(allows(o, pod(app), pod(other), PORTS[other])).toBe(false);
      }
      expect(allows(o, pod('dashboard'), nats, 4222)).toBe(true);
      expect(allows(o, pod('nats'), nats, 6222)).toBe(true);
      expect(allows(o, pod('nco-migrate'), nats, 4222)).toBe(false);
      if (hasDatastores) {
        expect(allows(o, pod('nco-migrate'), pod('postgres'), 5432)).toBe(true);
        expect(allows(o, pod('dashboard'), pod('postgres'), 5432)).toBe(false);
      }
      if (find(o, 'Deployment', 'fleet')) {
        expect(allows(o, pod('fleet'), nats, 4222)).toBe(true);
        expect(allows(o, pod('fleet'), pod('orchestrator'), PORTS.orchestrator)).toBe(false);
        if (hasDatastores) expect(allows(o, pod('fleet'), pod('postgres'), 5432)).toBe(false);
      }
    });
  });

  it('dev runs the simulated fleet and in-cluster datastores; production neither', () => {
    expect(find(rendered.dev, 'Deployment', 'fleet')).toBeDefined();
    expect(find(rendered.dev, 'StatefulSet', 'postgres')).toBeDefined();
    expect(find(rendered.production, 'Deployment', 'fleet')).toBeUndefined();
    expect(find(rendered.production, 'StatefulSet', 'postgres')).toBeUndefined();
  });
});
