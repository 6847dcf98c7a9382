import { createHash, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { Envelope } from '../envelope';
import { SigningKey } from './signing-keys';
import { NonceCache } from './nonce-cache';

/** Message types the NCO signs: every NCO → device command (`dca.cmd.*`, including middlebox inverse commands). */
export function isDeviceCommand(type: string): boolean {
  return type.startsWith('dca.cmd.');
}

/**
 * The bytes a command signature covers. Every field that decides what a device does or whether
 * it may do it: type, subject (host and verb), addressed host id, issue time, nonce, message id,
 * operation id and a sha256 of the body as serialised. Fields are newline-separated and none of
 * them can hold a newline (schemas), so two different commands never share these bytes.
 */
export function commandSigningBytes(env: Envelope<unknown>, subject: string, bodyJson: string, tag = 'nco-cmd/1'): Buffer {
  const bodyHash = createHash('sha256').update(bodyJson).digest('hex');
  return Buffer.from(
    [tag, env.type, subject, env.hostId ?? '', env.issuedAt, env.nonce ?? '', env.id, env.operationId ?? '', bodyHash].join('\n'),
  );
}

/** Signs NCO → device commands with the NCO's current key (adds a fresh nonce and the signature). */
export class CommandSigner {
  constructor(readonly key: SigningKey) {}

  get kid(): string {
    return this.key.kid;
  }

  sign<B>(env: Envelope<B>, subject: string): Envelope<B> {
    env.nonce = randomBytes(16).toString('base64url');
    const bytes = commandSigningBytes(env, subject, JSON.stringify(env.body));
    env.sig = { kid: this.key.kid, alg: 'ed25519', value: sign(null, bytes, this.key.privateKey).toString('base64') };
    return env;
  }
}

/** Why a command was refused; `kind` names the check for logs, incidents and tests. */
export class CommandRefusal extends Error {
  constructor(
    readonly kind: 'unsigned' | 'untrusted_key' | 'bad_signature' | 'wrong_host' | 'expired' | 'replayed' | 'replay_cache_full',
    message: string,
  ) {
    super(message);
    this.name = 'CommandRefusal';
  }
}

export interface CommandVerifierOptions {
  /** NCO public keys by key id (DCA_TRUSTED_KEYS). */
  trusted: Map<string, KeyObject>;
  /** A command is fresh while |now − issuedAt| ≤ windowMs. */
  windowMs: number;
  /** Most nonces remembered at once (they are forgotten once outside the window). */
  maxNonces: number;
  now?: () => number;
}

/**
 * The device's check of one command, before anything else looks at it: signed by a trusted NCO
 * key, addressed to this host (envelope and subject), issued within the window, nonce not seen
 * before. `raw` is the parsed JSON as received, so the body hash covers exactly the bytes sent.
 */
export class CommandVerifier {
  private readonly nonces: NonceCache;
  private readonly now: () => number;

  constructor(private readonly o: CommandVerifierOptions) {
    this.now = o.now ?? Date.now;
    this.nonces = new NonceCache(o.maxNonces);
  }

  get trustedKeyIds(): string[] {
    return [...this.o.trusted.keys()];
  }

  check(raw: unknown, subject: string, hostId: number): void {
    const env = (typeof raw === 'object' && raw ? raw : {}) as Partial<Envelope<unknown>>;
    const sig = env.sig;
    if (!sig || typeof sig !== 'object' || typeof sig.value !== 'string' || typeof sig.kid !== 'string' || typeof env.nonce !== 'string') {
      throw new CommandRefusal('unsigned', 'command is not signed by the NCO');
    }
    // Refusing is safe before the signature is checked; a command signed for another host names it.
    if (env.hostId !== hostId) throw new CommandRefusal('wrong_host', `command is addressed to host ${env.hostId ?? '(none)'}, not ${hostId}`);
    const key = this.o.trusted.get(sig.kid);
    if (!key) throw new CommandRefusal('untrusted_key', `command is signed with key ${String(sig.kid).slice(0, 64)}, which this device does not trust`);
    const bytes = commandSigningBytes(env as Envelope<unknown>, subject, JSON.stringify(env.body));
    let ok = false;
    try {
      ok = sig.alg === 'ed25519' && verify(null, bytes, key, Buffer.from(sig.value, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw new CommandRefusal('bad_signature', `command signature (key ${sig.kid}) does not verify`);
    const issued = Date.parse(String(env.issuedAt));
    const now = this.now();
    if (!Number.isFinite(issued) || Math.abs(now - issued) > this.o.windowMs) {
      throw new CommandRefusal('expired', `command was issued at ${env.issuedAt}, outside the ${this.o.windowMs} ms window`);
    }
    const seen = this.nonces.add(env.nonce, issued + this.o.windowMs, now);
    if (seen === 'seen') throw new CommandRefusal('replayed', `command nonce ${env.nonce} was already used (replay)`);
    if (seen === 'full') throw new CommandRefusal('replay_cache_full', 'too many commands inside the window; refused until older nonces expire');
  }
}
