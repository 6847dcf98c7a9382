import { z } from 'zod';
import { MiddleboxType } from './common.schema';

export const ModuleName = z.string().regex(/^[a-z][a-z0-9-]{1,47}$/, 'expected a lower-case module name like dns-tag');

/** A relative path inside a module directory: no absolute paths, no `..`. */
export const RelativePath = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, 'expected a relative path inside the module directory');

export const ParamType = z.enum(['int', 'uint', 'bool', 'string', 'ipv4', 'port']);
export type ParamType = z.infer<typeof ParamType>;
export const ParamValue = z.union([z.string().max(256), z.number(), z.boolean()]);
export type ParamValue = z.infer<typeof ParamValue>;

export const ModuleParam = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]{0,31}$/, 'expected a C identifier'),
  type: ParamType,
  default: ParamValue,
  description: z.string().max(200).optional(),
});
export type ModuleParam = z.infer<typeof ModuleParam>;

/** A catalog module's `module.json`. */
export const ModuleMetadata = z
  .object({
    name: ModuleName,
    description: z.string().min(1).max(500),
    customizes: z.string().min(1).max(500),
    source: RelativePath.refine((p) => p.endsWith('.c'), 'the source must be a .c file'),
    defaultActiveMode: z.union([z.literal(0), z.literal(1)]),
    defaultPriority: z.number().int().min(1).max(65534).nullable(),
    params: z.array(ModuleParam).max(16),
    inverse: z.record(MiddleboxType, RelativePath),
  })
  .strict()
  .refine((m) => new Set(m.params.map((p) => p.name)).size === m.params.length, 'parameter names must be unique');
export type ModuleMetadata = z.infer<typeof ModuleMetadata>;

export const ModuleFile = z.object({ path: RelativePath, contentBase64: z.string().max(1_400_000) });

export const CatalogAddBody = z.object({
  metadata: ModuleMetadata,
  files: z.array(ModuleFile).min(1).max(64),
});

export const CatalogEntry = z.object({
  name: z.string(),
  description: z.string(),
  customizes: z.string(),
  sourceSha256: z.string(),
  defaultActiveMode: z.number(),
  defaultPriority: z.number().nullable(),
  params: z.array(ModuleParam),
  inverse: z.record(z.string(), z.string()),
  files: z.array(z.string()),
  updatedAt: z.string(),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export const CatalogListReply = z.object({ modules: z.array(CatalogEntry) });
export const CatalogAddReply = z.object({ name: z.string(), sourceSha256: z.string(), created: z.boolean(), changed: z.boolean() });

function checkParam(p: ModuleParam, v: ParamValue): string | null {
  switch (p.type) {
    case 'int':
      return Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647 ? null : 'expected an integer';
    case 'uint':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 4294967295 ? null : 'expected a non-negative integer';
    case 'port':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? null : 'expected a port 0-65535';
    case 'bool':
      return typeof v === 'boolean' ? null : 'expected true or false';
    case 'ipv4':
      return typeof v === 'string' && z.ipv4().safeParse(v).success ? null : 'expected an IPv4 address';
    case 'string':
      return typeof v === 'string' && /^[\x20-\x7e]*$/.test(v) && !/[\s"]/.test(v) ? null : 'expected printable text without spaces or quotes';
  }
}

/**
 * Checks module parameters given by an operator against the module's declared ones and fills
 * in defaults. Throws one message naming every bad or unknown parameter.
 */
export function resolveModuleParams(declared: ModuleParam[], given: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  const problems: string[] = [];
  const byName = new Map(declared.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) problems.push(`${name}: not a parameter of this module (declared: ${[...byName.keys()].join(', ') || 'none'})`);
  }
  const out: Record<string, ParamValue> = {};
  for (const p of declared) {
    const v = given[p.name] ?? p.default;
    const problem = checkParam(p, v);
    if (problem) problems.push(`${p.name}: ${problem} (got ${JSON.stringify(v)})`);
    out[p.name] = v;
  }
  if (problems.length) throw new Error(problems.join('; '));
  return out;
}
