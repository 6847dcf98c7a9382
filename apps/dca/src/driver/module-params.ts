import { DriverError, ModuleParams } from './driver';

/** A module_param name: a C identifier, as the catalog declares it. */
const PARAM_NAME = /^[a-z_][a-z0-9_]{0,31}$/;
/**
 * A string value the kernel's parameter parser takes verbatim: printable ASCII without spaces,
 * quotes or backslashes (parse_args splits on spaces and strips quotes), so `insmod f.ko k=v`
 * passes exactly one value for one name.
 */
const PARAM_STRING = /^[!#-&(-[\]-~]{0,256}$/;
const MAX_PARAMS = 64;
/** NCO variables live in the artifact's NCO block; a parameter may not pose as one. */
const NCO_VARIABLES = new Set(['module_id', 'hex_key', 'key', 'activate', 'priority', 'apply_now', 'applynow']);

/**
 * Checks module parameters: at most 64, C-identifier names, values that are strings of safe
 * characters, safe integers or booleans. Returns a copy; throws a DriverError naming the first
 * bad one.
 */
export function validateModuleParams(params: unknown): ModuleParams {
  if (params === undefined) return {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new DriverError('module parameters must be an object of name → value');
  const entries = Object.entries(params as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) throw new DriverError(`too many module parameters: ${entries.length} (at most ${MAX_PARAMS})`);
  const out: ModuleParams = {};
  for (const [name, value] of entries) {
    if (!PARAM_NAME.test(name)) throw new DriverError(`module parameter name ${JSON.stringify(name.slice(0, 40))} is not a C identifier`);
    if (NCO_VARIABLES.has(name.toLowerCase())) {
      throw new DriverError(`module parameter ${name} is an NCO variable: it comes from the artifact's NCO block, not from parameters`);
    }
    if (typeof value === 'string') {
      if (!PARAM_STRING.test(value)) {
        throw new DriverError(`module parameter ${name}: a string value must be at most 256 printable characters without spaces, quotes or backslashes`);
      }
    } else if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new DriverError(`module parameter ${name}: a number must be a safe integer, got ${value}`);
    } else if (typeof value !== 'boolean') {
      throw new DriverError(`module parameter ${name}: expected a string, an integer or a boolean, got ${value === null ? 'null' : typeof value}`);
    }
    out[name] = value;
  }
  return out;
}

/** `name=value` arguments for insmod, in the order given (booleans as 1 / 0, which bool params take). */
export function insmodParamArgs(params: ModuleParams): string[] {
  const checked = validateModuleParams(params);
  return Object.entries(checked).map(([name, v]) => `${name}=${typeof v === 'boolean' ? (v ? 1 : 0) : String(v)}`);
}
