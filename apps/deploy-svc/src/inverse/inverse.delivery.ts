import type { ClaimedInverse } from '@nco/cib';
import { InverseResult, NatsBus, NcoError, Subjects } from '@nco/events';

/**
 * The device request for one claimed row: an install carries the file's bytes (base64, size,
 * sha256: the middlebox checks them before writing), a removal only the file name.
 */
export function inverseSender(bus: () => NatsBus, timeoutMs: number) {
  return async (row: ClaimedInverse): Promise<InverseResult> => {
    const opts = { hostId: row.hostId, timeoutMs };
    if (row.kind === 'inverse_remove') {
      return bus().request(Subjects.device.inverseRemove, { hostId: row.hostId }, { module: row.module, file: row.file }, opts);
    }
    if (!row.content || !row.sha256) throw new NcoError('not_found', `the inverse module of ${row.module} (${row.file}) is gone from the CIB`);
    const body = { module: row.module, file: row.file, size: row.content.length, sha256: row.sha256, contentBase64: row.content.toString('base64') };
    return bus().request(Subjects.device.inverseInstall, { hostId: row.hostId }, body, opts);
  };
}
