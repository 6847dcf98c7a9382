import { z } from 'zod';

/** Service-to-service only (`nco.svc.>`): module keys never reach operators or logs. */
export const KeysIssueBody = z.object({ count: z.number().int().min(1).max(20_000) }).strict();
export const ModuleKey = z.object({ keyId: z.uuid(), keyBase64: z.string().length(44) });
export const KeysReply = z.object({ keys: z.array(ModuleKey) });
export const KeysGetBody = z.object({ keyIds: z.array(z.uuid()).min(1).max(20_000) }).strict();

export const KeysRewrapReply = z.object({ rewrapped: z.number().int(), kekId: z.string() });
