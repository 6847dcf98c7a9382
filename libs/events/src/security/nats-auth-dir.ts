import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { credsAuthenticator, connect } from 'nats';
import {
  accountSigner,
  createNatsAuth,
  credsText,
  issueDeviceJwt,
  NatsAuthState,
  natsAuthPublicKeys,
  ncoAccountJwt,
  newDeviceNkey,
  newRoleCreds,
  pushAccountJwt,
  renderAuthConfig,
  systemUserCreds,
  userIssuer,
  withRevocations,
} from './nats-auth';

/**
 * The nats-auth directory (`npm run nats-auth`): the secret state, the server's auth block and the
 * creds files. Layout:
 *   nats-auth.json        operator, account and signing seeds, revocations (0600, secret)
 *   auth.conf             operator JWT, system account, resolver (public; the server includes it)
 *   creds/<role>.creds    services, operator, fleet, bootstrap, sys (0600)
 *   devices/<id>.creds    devices whose key this tool generated (simulated or lab devices)
 */
export const NATS_AUTH_STATE_FILE = 'nats-auth.json';
export const NATS_AUTH_ROLES = ['services', 'operator', 'fleet', 'bootstrap'] as const;
const ROLE_OF = { services: 'service', operator: 'operator', fleet: 'fleet', bootstrap: 'bootstrap' } as const;

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function loadNatsAuth(dir: string): NatsAuthState {
  const path = join(dir, NATS_AUTH_STATE_FILE);
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`npm run nats-auth -- init ${dir}\` first`);
  const s = JSON.parse(readFileSync(path, 'utf8')) as NatsAuthState;
  if (s.v !== 1 || typeof s.operator !== 'string' || typeof s.accountSigningKey !== 'string' || typeof s.operatorSigningKey !== 'string') throw new Error(`${path} is not a nats-auth state file`);
  return { ...s, revocations: s.revocations ?? {}, devices: s.devices ?? {} };
}

async function save(dir: string, s: NatsAuthState): Promise<void> {
  writeSecret(join(dir, NATS_AUTH_STATE_FILE), `${JSON.stringify(s, null, 2)}\n`);
  writeFileSync(join(dir, 'auth.conf'), await renderAuthConfig(s));
}

/** Creates the operator, accounts, signing key, auth.conf and the role creds. Refuses to overwrite an existing state. */
export async function initNatsAuthDir(dir: string, opts: { resolverDir?: string } = {}): Promise<{ files: string[]; keys: ReturnType<typeof natsAuthPublicKeys> }> {
  if (existsSync(join(dir, NATS_AUTH_STATE_FILE))) throw new Error(`${join(dir, NATS_AUTH_STATE_FILE)} exists: refusing to replace the operator (every issued creds file would stop working)`);
  mkdirSync(join(dir, 'creds'), { recursive: true });
  const s = createNatsAuth({ resolverDir: opts.resolverDir ?? resolve(dir, 'jwt') });
  await save(dir, s);
  const files = [join(dir, NATS_AUTH_STATE_FILE), join(dir, 'auth.conf')];
  for (const name of NATS_AUTH_ROLES) {
    const path = join(dir, 'creds', `${name}.creds`);
    writeSecret(path, (await newRoleCreds(userIssuer(s), ROLE_OF[name], name)).creds);
    files.push(path);
  }
  const sysPath = join(dir, 'creds', 'sys.creds');
  writeSecret(sysPath, await systemUserCreds(s));
  files.push(sysPath);
  return { files, keys: natsAuthPublicKeys(s) };
}

/**
 * A device's JWT for `hostId`. With the device's public nkey (the device generated it and keeps
 * the seed) the JWT alone is returned; without one, the tool generates the key and writes a
 * complete creds file under devices/ (simulated and lab devices).
 */
export async function issueDeviceInDir(dir: string, hostId: number, devicePublicKey?: string): Promise<{ jwt: string; publicKey: string; credsPath?: string }> {
  const s = loadNatsAuth(dir);
  const generated = devicePublicKey ? undefined : newDeviceNkey();
  const publicKey = devicePublicKey ?? generated!.publicKey;
  const jwt = await issueDeviceJwt(userIssuer(s), hostId, publicKey);
  await save(dir, { ...s, devices: { ...s.devices, [String(hostId)]: publicKey } });
  if (!generated) return { jwt, publicKey };
  mkdirSync(join(dir, 'devices'), { recursive: true });
  const credsPath = join(dir, 'devices', `${hostId}.creds`);
  writeSecret(credsPath, credsText(jwt, generated.seed));
  return { jwt, publicKey, credsPath };
}

/**
 * Revokes devices (by host id, for keys this tool issued, or by user public key U…): records the
 * revocation, rewrites auth.conf (a server started later preloads it) and, given a server URL,
 * pushes the account JWT so the running servers shut the device out now.
 */
export async function revokeInDir(dir: string, who: string[], opts: { servers?: string | string[] } = {}): Promise<{ revoked: string[]; pushed: boolean }> {
  const s = loadNatsAuth(dir);
  const keys = who.map((w) => {
    if (/^U[A-Z2-7]{55}$/.test(w)) return w;
    const k = /^\d+$/.test(w) ? s.devices[w] : undefined;
    if (!k) throw new Error(`${w}: neither a user public key (U…) nor a host id this tool issued a device JWT for`);
    return k;
  });
  const next = withRevocations(s, keys);
  await save(dir, next);
  if (!opts.servers) return { revoked: keys, pushed: false };
  await pushNcoAccount(next, opts.servers);
  return { revoked: keys, pushed: true };
}

/**
 * Adds `revocations` (user key → unix seconds; the later time wins) to the directory's list,
 * rewrites it when writable (so `auth.conf` and the tool keep them), and pushes the account JWT
 * with the whole list to `servers`: what the orchestrator does at `nco devices revoke`.
 */
export async function pushRevocations(dir: string, revocations: Record<string, number>, servers: string | string[]): Promise<{ total: number; recorded: boolean }> {
  const s = loadNatsAuth(dir);
  const merged = { ...s.revocations };
  for (const [key, at] of Object.entries(revocations)) merged[key] = Math.max(merged[key] ?? 0, at);
  const next = { ...s, revocations: merged };
  let recorded = true;
  try {
    await save(dir, next);
  } catch {
    recorded = false; // a read-only mount: the server's resolver still stores what is pushed
  }
  await pushNcoAccount(next, servers);
  return { total: Object.keys(merged).length, recorded };
}

async function pushNcoAccount(s: NatsAuthState, servers: string | string[]): Promise<void> {
  const sys = await connect({
    servers,
    authenticator: credsAuthenticator(new TextEncoder().encode(await systemUserCreds(s))),
    name: 'nats-auth-revoke',
    timeout: 5_000,
  });
  try {
    await pushAccountJwt(sys, await ncoAccountJwt(accountSigner(s), s.revocations));
  } finally {
    await sys.close();
  }
}
