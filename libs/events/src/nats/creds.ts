import { readFileSync } from 'node:fs';
import { Authenticator, credsAuthenticator } from 'nats';
import { z } from 'zod';

// The part of a user JWT's claims a client needs: its subscribe permissions.
const UserClaims = z.object({ nats: z.object({ sub: z.object({ allow: z.array(z.string()).optional() }).optional() }).passthrough() }).passthrough();

/**
 * A NATS `.creds` file (user JWT + seed, docs/security.md "NATS permissions"). The authenticator
 * reads the file at every (re)connect, so a re-issued JWT is picked up without a restart. The inbox
 * prefix is the one the JWT lets this user subscribe to (`_INBOX_<hostId>` for a device), so a
 * device's requests get their answers where its permissions allow; undefined means the default.
 */
export function loadCreds(file: string): { authenticator: Authenticator; inboxPrefix?: string } {
  const text = readCredsFile(file);
  const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*------END NATS USER JWT------/.exec(text)?.[1];
  const payload = jwt?.split('.')[1];
  if (!payload || !/-----BEGIN USER NKEY SEED-----\s*SU[A-Z2-7]+\s*------END USER NKEY SEED------/.test(text)) {
    throw new Error(`${file}: not a NATS creds file (user JWT and nkey seed)`);
  }
  const claims = UserClaims.safeParse(safeJson(Buffer.from(payload, 'base64url').toString('utf8')));
  if (!claims.success) throw new Error(`${file}: the user JWT's claims do not parse`);
  const inbox = (claims.data.nats.sub?.allow ?? []).map((s) => /^(_INBOX[A-Za-z0-9_-]*)\.>$/.exec(s)?.[1]).find(Boolean);
  return {
    authenticator: credsAuthenticator(() => new TextEncoder().encode(readCredsFile(file))),
    inboxPrefix: inbox && inbox !== '_INBOX' ? inbox : undefined,
  };
}

function readCredsFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read NATS creds file ${file}: ${(e as Error).message}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
