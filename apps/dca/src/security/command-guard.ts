import { CommandRefusal, CommandVerifier, NcoError, parseTrustedKeys } from '@nco/events';

/** A refused command: the NCO gets `invalid_request` with the reason, the incident names the check. */
export class SecurityRefusal extends NcoError {
  constructor(readonly refusal: CommandRefusal) {
    super('invalid_request', `command refused: ${refusal.message}`);
  }

  get incidentKind(): string {
    return `command_${this.refusal.kind}`;
  }
}

/** What a command router asks before a command reaches the agent. */
export interface CommandGuard {
  /** Throws a SecurityRefusal when the command must not run; `raw` is the message's parsed JSON. */
  check(raw: unknown, subject: string, hostId: number): void;
}

export interface CommandGuardSettings {
  /** `kid:base64(SPKI)[,…]`: the NCO keys this device (or fleet) trusts. */
  trustedKeys: string;
  windowMs: number;
  replayCacheSize: number;
}

/** Signature, host, freshness and replay checks of libs/events' CommandVerifier, as a guard. */
export class SignedCommandGuard implements CommandGuard {
  private readonly verifier: CommandVerifier;

  constructor(s: CommandGuardSettings, now?: () => number) {
    const trusted = parseTrustedKeys(s.trustedKeys);
    if (trusted.size === 0) throw new Error('no trusted NCO keys given');
    this.verifier = new CommandVerifier({ trusted, windowMs: s.windowMs, maxNonces: s.replayCacheSize, now });
  }

  get trustedKeyIds(): string[] {
    return this.verifier.trustedKeyIds;
  }

  check(raw: unknown, subject: string, hostId: number): void {
    try {
      this.verifier.check(raw, subject, hostId);
    } catch (e) {
      if (e instanceof CommandRefusal) throw new SecurityRefusal(e);
      throw e;
    }
  }
}
