import { K8sObject } from './kustomize';

/**
 * Whether Kubernetes NetworkPolicies let one pod open a TCP connection to another in the same
 * namespace (the semantics of networking.k8s.io/v1): a pod selected by no policy of a direction
 * is open in that direction; a selected one allows only what some rule of a selecting policy
 * allows. ipBlock peers never match pods here (pods are addressed by labels); a namespaceSelector
 * matches only when it selects the pods' own namespace by its name label.
 */
type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ port?: number | string; protocol?: string }>;
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes?: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

export interface Endpoint {
  labels: Labels;
  /** Container ports by name, to resolve named ports in rules. */
  namedPorts?: Record<string, number>;
}

export function selects(sel: Selector | undefined, labels: Labels): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = { In: has && e.values!.includes(labels[e.key]), NotIn: !has || !e.values!.includes(labels[e.key]), Exists: has, DoesNotExist: !has }[e.operator];
    if (!ok) return false;
  }
  return true;
}

function peerMatches(peer: Peer, pod: Endpoint, namespace: string): boolean {
  if (peer.ipBlock) return false;
  if (peer.namespaceSelector && !selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': namespace })) return false;
  return selects(peer.podSelector, pod.labels);
}

function portMatches(rule: Rule, port: number, target: Endpoint): boolean {
  if (!rule.ports?.length) return true;
  return rule.ports.some((p) => (p.protocol ?? 'TCP') === 'TCP' && (p.port === undefined || p.port === port || (typeof p.port === 'string' && target.namedPorts?.[p.port] === port)));
}

function direction(policies: PolicySpec[], pod: Endpoint, type: 'Ingress' | 'Egress') {
  return policies.filter((p) => selects(p.podSelector, pod.labels) && (p.policyTypes ?? ['Ingress']).includes(type));
}

export function allows(objects: K8sObject[], from: Endpoint, to: Endpoint, port: number): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.spec as PolicySpec);
  const namespace = objects.find((o) => o.kind === 'NetworkPolicy')?.metadata.namespace ?? '';
  const egress = direction(policies, from, 'Egress');
  const egressOk = egress.length === 0 || egress.some((p) => (p.egress ?? []).some((r) => (r.to === undefined || r.to.some((peer) => peerMatches(peer, to, namespace))) && portMatches(r, port, to)));
  const ingress = direction(policies, to, 'Ingress');
  const ingressOk = ingress.length === 0 || ingress.some((p) => (p.ingress ?? []).some((r) => (r.from === undefined || r.from.some((peer) => peerMatches(peer, from, namespace))) && portMatches(r, port, to)));
  return egressOk && ingressOk;
}
