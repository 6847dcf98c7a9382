import { z } from 'zod';
import { HostId } from '../envelope';
import { IsoTime, MiddleboxType } from './common.schema';
import { ModuleName } from './catalog.schema';

/**
 * Inverse modules: files (a Wireshark dissector, an IDS rule set…) that let a middlebox of one
 * type understand a customised flow. The NCO keeps every middlebox of that type holding the
 * inverse modules of the modules deployed anywhere, and removes them when no longer needed.
 */

/** Largest inverse module file: it travels base64 in one NATS message (1 MB by default). */
export const INVERSE_MAX_BYTES = 256 * 1024;
const BASE64_MAX = Math.ceil(INVERSE_MAX_BYTES / 3) * 4;

/** A plain file name inside the middlebox's inverse directory: no path, no hidden or temp names. */
export const InverseFileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected a plain file name like l45_dns_tag.lua (letters, digits, . _ -)')
  .refine((n) => !n.includes('..'), 'a file name must not contain ..');

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha256');

/** One file a middlebox holds in its inverse directory (reported with every report). */
export const InverseHolding = z.object({
  file: InverseFileName,
  sha256: Sha256Hex,
  size: z.number().int().min(0),
});
export type InverseHolding = z.infer<typeof InverseHolding>;

// ---- NCO → middlebox ------------------------------------------------------------------------

/** Write `file` (atomically) with these bytes. `module` names the customization it belongs to (logs). */
export const InverseInstallCommand = z.object({
  module: ModuleName,
  file: InverseFileName,
  size: z.number().int().min(0).max(INVERSE_MAX_BYTES),
  sha256: Sha256Hex,
  contentBase64: z.string().max(BASE64_MAX),
});
export type InverseInstallCommand = z.infer<typeof InverseInstallCommand>;

export const InverseRemoveCommand = z.object({ module: ModuleName, file: InverseFileName });
export type InverseRemoveCommand = z.infer<typeof InverseRemoveCommand>;

/** What the middlebox did: a repeat of a held file is `unchanged`, a remove of an absent one `absent`. */
export const InverseResult = z.object({
  file: InverseFileName,
  outcome: z.enum(['installed', 'unchanged', 'removed', 'absent']),
});
export type InverseResult = z.infer<typeof InverseResult>;

// ---- operator commands ------------------------------------------------------------------------

export const InverseState = z.enum(['required', 'installed', 'removing', 'removed']);
export type InverseState = z.infer<typeof InverseState>;

export const MiddleboxesListBody = z.object({ type: MiddleboxType.optional() }).strict();

/** One (middlebox, inverse module) record of the CIB. */
export const MiddleboxInverse = z.object({
  module: z.string(),
  file: z.string(),
  sha256: z.string(),
  state: InverseState,
  requiredAt: IsoTime.nullable(),
  installedAt: IsoTime.nullable(),
  removedAt: IsoTime.nullable(),
  lastError: z.string().nullable(),
});
export type MiddleboxInverse = z.infer<typeof MiddleboxInverse>;

export const MiddleboxEntry = z.object({
  hostId: HostId,
  mac: z.string(),
  type: z.string(),
  online: z.boolean(),
  lastSeenAt: IsoTime.nullable(),
  inverse: z.array(MiddleboxInverse),
});
export type MiddleboxEntry = z.infer<typeof MiddleboxEntry>;

/** A linked inverse module (catalog-declared or linked by an operator). */
export const InverseModuleEntry = z.object({
  module: z.string(),
  type: z.string(),
  file: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  source: z.enum(['catalog', 'operator']),
  /** Modules deployed (in flight or installed) that need it: it is required on its type's middleboxes. */
  required: z.boolean(),
  updatedAt: IsoTime,
});
export type InverseModuleEntry = z.infer<typeof InverseModuleEntry>;

export const MiddleboxesListReply = z.object({
  middleboxes: z.array(MiddleboxEntry),
  inverseModules: z.array(InverseModuleEntry),
});
export type MiddleboxesListReply = z.infer<typeof MiddleboxesListReply>;

/** Link (or replace) the inverse module of `module` for middleboxes of `type`. */
export const InverseLinkBody = z
  .object({
    module: ModuleName,
    type: MiddleboxType,
    file: InverseFileName,
    contentBase64: z.string().min(1).max(BASE64_MAX, `an inverse module is at most ${INVERSE_MAX_BYTES} bytes`),
  })
  .strict();
export type InverseLinkBody = z.infer<typeof InverseLinkBody>;

export const InverseLinkReply = z.object({
  module: z.string(),
  type: z.string(),
  file: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  created: z.boolean(),
  changed: z.boolean(),
});

export const InverseUnlinkBody = z.object({ module: ModuleName, type: MiddleboxType }).strict();
export const InverseUnlinkReply = z.object({
  module: z.string(),
  type: z.string(),
  /** Middleboxes that hold it now and will have it removed. */
  removing: z.number().int(),
});
