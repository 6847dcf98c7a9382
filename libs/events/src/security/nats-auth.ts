import { createAccount, createOperator, createUser, decode, encodeAccount, encodeOperator, encodeUser, fmtCreds, fromSeed, KeyPair } from '@nats-io/jwt';
import { createHash, sign } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { devicePermissions, NatsRole, NatsUserPermissions, rolePermissions } from './nats-permissions';
import { base32, keyOfSeed } from './nkey-codec';

/**
 * NATS decentralized JWT auth for the NCO (docs/security.md, "NATS permissions"): an operator, a
 * system account, and the NCO account whose signing key issues one user JWT per device, service,
 * operator or simulator. The server trusts the operator and resolves account JWTs from its own
 * store (`resolver: full`), so enrolling a device changes nothing on the server and revoking one is
 * an account JWT update pushed over the system account at runtime.
 */
export interface NatsAuthState {
  v: 1;
  /** Secret seeds (S…): keep this file 0600, never in the repository. */
  operator: string;
  /** Signs the account JWTs, so the operator's identity key can stay offline (and this one can be rotated). */
  operatorSigningKey: string;
  systemAccount: string;
  /** The system account's user, which pushes account updates (revocations) to the server. */
  systemUser: string;
  account: string;
  /** Signs user JWTs, so the account's own key is never needed online. */
  accountSigningKey: string;
  /** User public key → unix seconds: JWTs of that key issued at or before are refused. */
  revocations: Record<string, number>;
  /** Host id → public key of the device JWTs this tool issued (lets `revoke` take a host id). */
  devices: Record<string, string>;
  /** Where nats-server keeps resolved account JWTs (absolute, or relative to its working directory). */
  resolverDir: string;
}

export const NCO_ACCOUNT_NAME = 'NCO';
const seedText = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());
const seedKey = (seed: string) => fromSeed(new TextEncoder().encode(seed));

export function createNatsAuth(opts: { resolverDir: string }): NatsAuthState {
  return {
    v: 1,
    operator: seedText(createOperator()),
    operatorSigningKey: seedText(createOperator()),
    systemAccount: seedText(createAccount()),
    systemUser: seedText(createUser()),
    account: seedText(createAccount()),
    accountSigningKey: seedText(createAccount()),
    revocations: {},
    devices: {},
    resolverDir: opts.resolverDir,
  };
}

/** The public keys (safe to show and log). */
export function natsAuthPublicKeys(s: NatsAuthState) {
  return {
    operator: seedKey(s.operator).getPublicKey(),
    operatorSigningKey: seedKey(s.operatorSigningKey).getPublicKey(),
    systemAccount: seedKey(s.systemAccount).getPublicKey(),
    account: seedKey(s.account).getPublicKey(),
    accountSigningKey: seedKey(s.accountSigningKey).getPublicKey(),
  };
}

export function operatorJwt(s: NatsAuthState): Promise<string> {
  const keys = natsAuthPublicKeys(s);
  return encodeOperator('nco-operator', seedKey(s.operator), { system_account: keys.systemAccount, signing_keys: [keys.operatorSigningKey] });
}

// An account JWT without limits allows no connections at all: say "unlimited" explicitly.
const CORE_UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

export function systemAccountJwt(s: NatsAuthState): Promise<string> {
  return encodeAccount('SYS', natsAuthPublicKeys(s).systemAccount, { limits: CORE_UNLIMITED }, { signer: seedKey(s.operatorSigningKey) });
}

/**
 * What re-signs the NCO account JWT (a revocation): the operator signing key's seed and the
 * account's public keys. The account's and the operator's own seeds are not needed, so an online
 * component can hold just this.
 */
export interface AccountSigner {
  operatorSigningSeed: string;
  account: string;
  accountSigningKey: string;
}

export function accountSigner(s: NatsAuthState): AccountSigner {
  const keys = natsAuthPublicKeys(s);
  return { operatorSigningSeed: s.operatorSigningKey, account: keys.account, accountSigningKey: keys.accountSigningKey };
}

/** The NCO account: JetStream on, user JWTs only from its signing key, and the revocation list. */
export function ncoAccountJwt(signer: AccountSigner, revocations: Record<string, number>): Promise<string> {
  return encodeAccount(
    NCO_ACCOUNT_NAME,
    signer.account,
    {
      limits: { ...CORE_UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
      signing_keys: [signer.accountSigningKey],
      revocations: { ...revocations },
    },
    { signer: seedKey(signer.operatorSigningSeed) },
  );
}

/**
 * The server's auth block (included from the server configuration): trust the operator, name the
 * system account, resolve accounts from a directory the server owns (updates pushed at runtime are
 * stored there and survive restarts), seeded with the two account JWTs.
 */
export async function renderAuthConfig(s: NatsAuthState): Promise<string> {
  const keys = natsAuthPublicKeys(s);
  return [
    '# Generated by `npm run nats-auth` (docs/security.md, "NATS permissions"). Public material only:',
    '# the seeds stay in the nats-auth state file.',
    `operator: ${await operatorJwt(s)}`,
    `system_account: ${keys.systemAccount}`,
    'resolver: {',
    '  type: full',
    `  dir: ${JSON.stringify(s.resolverDir)}`,
    '  # A revoked device stays revoked: account JWTs can be updated, never deleted.',
    '  allow_delete: false',
    '  interval: "2m"',
    '}',
    'resolver_preload: {',
    `  ${keys.systemAccount}: ${await systemAccountJwt(s)}`,
    `  ${keys.account}: ${await ncoAccountJwt(accountSigner(s), s.revocations)}`,
    '}',
    '',
  ].join('\n');
}

/** What a user JWT is issued with: the account's public key and its signing key's seed (the orchestrator needs only this at enrollment). */
export interface UserIssuer {
  account: string;
  signingSeed: string;
}

export function userIssuer(s: NatsAuthState): UserIssuer {
  return { account: natsAuthPublicKeys(s).account, signingSeed: s.accountSigningKey };
}

/** A user JWT for `userPublicKey` (U…) with the given permissions, signed by the account's signing key. */
/**
 * A user JWT for `userPublicKey` (U…) with the given permissions, signed by the account's signing
 * key: the NATS JWT v2 format (header, claims, Ed25519 signature, each base64url), signed with
 * Node's native Ed25519 so that enrolling a fleet is not bound by JavaScript signing.
 */
export async function issueUserJwt(issuer: UserIssuer, name: string, userPublicKey: string, perms: NatsUserPermissions, opts: { expiresInS?: number } = {}): Promise<string> {
  if (!/^U[A-Z2-7]{55}$/.test(userPublicKey)) throw new Error('expected a NATS user public key (U…, 56 characters)');
  if (!/^A[A-Z2-7]{55}$/.test(issuer.account)) throw new Error('expected the NATS account public key (A…)');
  const signer = signerOf(issuer.signingSeed);
  const iat = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    ...(opts.expiresInS ? { exp: iat + opts.expiresInS } : {}),
    name,
    sub: userPublicKey,
    nats: { data: -1, payload: -1, subs: -1, ...perms, issuer_account: issuer.account, type: 'user', version: 2 },
    iss: signer.publicKey,
    iat,
  };
  claims.jti = base32(createHash('sha256').update(JSON.stringify(claims)).digest());
  const body = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body), signer.key).toString('base64url')}`;
}

const JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url');
const signers = new Map<string, ReturnType<typeof keyOfSeed>>();

function signerOf(seed: string): ReturnType<typeof keyOfSeed> {
  let s = signers.get(seed);
  if (!s) {
    s = keyOfSeed(seed);
    if (!s.publicKey.startsWith('A')) throw new Error('the user JWT signer must be an account signing key (SA…)');
    signers.set(seed, s);
  }
  return s;
}

/** A device's JWT, bound to the nkey the device generated (it keeps the seed; only the public key travels). */
export function issueDeviceJwt(issuer: UserIssuer, hostId: number, devicePublicKey: string, opts: { expiresInS?: number } = {}): Promise<string> {
  return issueUserJwt(issuer, `device-${hostId}`, devicePublicKey, devicePermissions(hostId), opts);
}

/** A fresh key pair and its creds file text, for the users the tool creates itself (services, operator, fleet, bootstrap). */
export async function newRoleCreds(issuer: UserIssuer, role: Exclude<NatsRole, 'device'>, name: string = role): Promise<{ publicKey: string; creds: string }> {
  const kp = createUser();
  const jwt = await issueUserJwt(issuer, name, kp.getPublicKey(), rolePermissions(role));
  return { publicKey: kp.getPublicKey(), creds: credsText(jwt, seedText(kp)) };
}

/** The system user's creds (pushes account updates). */
export async function systemUserCreds(s: NatsAuthState): Promise<string> {
  const kp = seedKey(s.systemUser);
  const jwt = await encodeUser('sys', kp, seedKey(s.systemAccount));
  return credsText(jwt, s.systemUser);
}

/** The usual `.creds` file: the user JWT and the user's seed (what nats.js `credsAuthenticator` reads). */
export function credsText(jwt: string, userSeed: string): string {
  return new TextDecoder().decode(fmtCreds(jwt, seedKey(userSeed)));
}

/** A new device nkey pair: the device stores `seed` and sends `publicKey` when it enrolls. */
export function newDeviceNkey(): { seed: string; publicKey: string } {
  const kp = createUser();
  return { seed: seedText(kp), publicKey: kp.getPublicKey() };
}

/** The state with `userPublicKeys` revoked as of now (every JWT issued to them so far is refused). */
export function withRevocations(s: NatsAuthState, userPublicKeys: string[], at = Math.floor(Date.now() / 1000)): NatsAuthState {
  const revocations = { ...s.revocations };
  for (const k of userPublicKeys) revocations[k] = at;
  return { ...s, revocations };
}

/**
 * Pushes the NCO account JWT to the server over a system-account connection. The server stores it
 * in its resolver directory, applies the new revocations at once (a revoked user's connections
 * are closed) and forwards it to the rest of the cluster.
 */
export async function pushAccountJwt(sys: NatsConnection, accountJwt: string, timeoutMs = 5_000): Promise<void> {
  const account = decode(accountJwt).sub;
  const reply = await sys.request(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.UPDATE`, new TextEncoder().encode(accountJwt), { timeout: timeoutMs });
  const body = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description?: string; code?: number }; data?: { code?: number; message?: string } };
  if (body.error) throw new Error(`nats-server refused the account update: ${body.error.description ?? JSON.stringify(body.error)}`);
}
