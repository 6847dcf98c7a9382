import { headers as natsHeaders, JetStreamClient, Msg, NatsConnection, Subscription } from 'nats';
import { decodeEnvelope, encode } from '../codec';
import { BodyOf, EventContract, ParamsOf, ReplyOf, RequestContract } from '../contract';
import { Envelope, envelopeSchema, EnvelopeOptions, makeEnvelope } from '../envelope';
import { ERROR_TYPE, ErrorBodySchema, isNcoError, NcoError } from '../errors';
import { BusLogger } from './logger';
import { CommandSigner, isDeviceCommand } from '../security/command-signing';

const ErrorEnvelope = envelopeSchema(ERROR_TYPE, ErrorBodySchema);

export interface ServeOptions {
  /** Queue group: replicas of a service share the subject, each message goes to one. */
  queue?: string;
  /** Subject to subscribe to; defaults to the contract's wildcard pattern. */
  subject?: string;
}

/** Signs an outgoing envelope in place (a device's identity key, docs/security.md). */
export type EnvelopeSignHook = (env: Envelope<unknown>, subject: string) => void;

export interface RequestOptions extends EnvelopeOptions {
  timeoutMs?: number;
  sign?: EnvelopeSignHook;
}

export interface Incoming<B> {
  env: Envelope<B>;
  subject: string;
}

export type RequestHandler<C extends RequestContract<any, any, any>> = (
  msg: Incoming<BodyOf<C>>,
) => Promise<ReplyOf<C>> | ReplyOf<C>;

export type EventHandler<C extends EventContract<any, any>> = (msg: Incoming<BodyOf<C>>) => Promise<void> | void;

/**
 * Typed request/reply and publish over one NATS connection. Every message is an envelope,
 * validated on both sides against the contract in `Subjects`; a malformed message gets an
 * `error` reply (requests) or a logged rejection (events) and never reaches a handler.
 */
export class NatsBus {
  private readonly subs: Subscription[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private jsClient?: JetStreamClient;
  /** When set, every NCO → device command (`dca.cmd.*`) this bus sends is signed (docs/security.md). */
  signer?: CommandSigner;

  constructor(
    readonly nc: NatsConnection,
    private readonly log: BusLogger,
  ) {}

  get js(): JetStreamClient {
    this.jsClient ??= this.nc.jetstream();
    return this.jsClient;
  }

  async request<C extends RequestContract<any, any, any>>(
    contract: C,
    params: ParamsOf<C>,
    body: BodyOf<C>,
    opts: RequestOptions = {},
  ): Promise<ReplyOf<C>> {
    return (await this.requestEnvelope(contract, params, body, opts)).body;
  }

  async requestEnvelope<C extends RequestContract<any, any, any>>(
    contract: C,
    params: ParamsOf<C>,
    body: BodyOf<C>,
    opts: RequestOptions = {},
  ): Promise<Envelope<ReplyOf<C>>> {
    const subject = contract.subject(params);
    const env = makeEnvelope(contract.type, body, opts);
    if (this.signer && isDeviceCommand(contract.type)) this.signer.sign(env, subject);
    opts.sign?.(env, subject);
    let reply: Msg;
    try {
      reply = await this.nc.request(subject, encode(env), { timeout: opts.timeoutMs ?? contract.timeoutMs });
    } catch (e) {
      throw toTransportError(e, subject);
    }
    const replyMax = Math.max(contract.maxBytes, 1024 * 1024);
    const raw = decodeEnvelope(reply.data, ErrorEnvelope.or(contract.replyEnvelope), replyMax) as Envelope<unknown>;
    if (raw.type === ERROR_TYPE) {
      const err = raw.body as { code: NcoError['code']; message: string; details?: unknown };
      throw new NcoError(err.code, err.message, err.details);
    }
    return raw as Envelope<ReplyOf<C>>;
  }

  publish<C extends EventContract<any, any>>(contract: C, params: ParamsOf<C>, body: BodyOf<C>, opts: EnvelopeOptions & { sign?: EnvelopeSignHook } = {}): void {
    const subject = contract.subject(params);
    const env = makeEnvelope(contract.type, body, opts);
    opts.sign?.(env, subject);
    this.nc.publish(subject, encode(env));
  }

  /** Publishes to a stream and waits for the server's ack; the envelope id de-duplicates retries. */
  async publishDurable<C extends EventContract<any, any>>(
    contract: C,
    params: ParamsOf<C>,
    body: BodyOf<C>,
    opts: EnvelopeOptions = {},
  ): Promise<void> {
    const env = makeEnvelope(contract.type, body, opts);
    await this.js.publish(contract.subject(params), encode(env), { msgID: env.id });
  }

  serve<C extends RequestContract<any, any, any>>(contract: C, handler: RequestHandler<C>, opts: ServeOptions = {}): Subscription {
    return this.listen(contract.type, opts.subject ?? contract.pattern, opts.queue, async (msg) => {
      let env: Envelope<BodyOf<C>>;
      try {
        env = decodeEnvelope(msg.data, contract.envelope, contract.maxBytes) as Envelope<BodyOf<C>>;
      } catch (e) {
        this.log.warn({ subject: msg.subject, err: (e as Error).message }, 'refused malformed request');
        this.replyError(msg, e as NcoError);
        return;
      }
      try {
        const result = await handler({ env, subject: msg.subject });
        const reply = makeEnvelope(contract.replyType, result, { operationId: env.operationId, hostId: env.hostId });
        if (msg.reply) msg.respond(encode(reply));
      } catch (e) {
        const err = isNcoError(e) ? e : new NcoError('internal', 'internal error');
        const level = isNcoError(e) ? 'warn' : 'error';
        this.log[level](
          { subject: msg.subject, operationId: env.operationId, hostId: env.hostId, err: isNcoError(e) ? e.message : e },
          'request failed',
        );
        this.replyError(msg, err, env);
      }
    });
  }

  subscribe<C extends EventContract<any, any>>(contract: C, handler: EventHandler<C>, opts: ServeOptions = {}): Subscription {
    return this.listen(contract.type, opts.subject ?? contract.pattern, opts.queue, async (msg) => {
      let env: Envelope<BodyOf<C>>;
      try {
        env = decodeEnvelope(msg.data, contract.envelope, contract.maxBytes) as Envelope<BodyOf<C>>;
      } catch (e) {
        this.log.warn({ subject: msg.subject, err: (e as Error).message }, 'dropped malformed event');
        return;
      }
      try {
        await handler({ env, subject: msg.subject });
      } catch (e) {
        this.log.error({ subject: msg.subject, operationId: env.operationId, hostId: env.hostId, err: e }, 'event handler failed');
      }
    });
  }

  /** Stops taking messages, lets in-flight handlers finish, then drains the connection. */
  async close(): Promise<void> {
    await Promise.allSettled(this.subs.map((s) => s.drain()));
    await Promise.allSettled([...this.inFlight]);
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
  }

  private listen(type: string, subject: string, queue: string | undefined, onMsg: (m: Msg) => Promise<void>): Subscription {
    const sub = this.nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err) {
          this.log.error({ subject, err: err.message }, 'subscription error');
          return;
        }
        const p = onMsg(msg).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      },
    });
    this.subs.push(sub);
    this.log.debug({ subject, queue, type }, 'subscribed');
    return sub;
  }

  private replyError(msg: Msg, err: NcoError, env?: Envelope<unknown>): void {
    if (!msg.reply) return;
    const reply = makeEnvelope(ERROR_TYPE, err.toBody(), { operationId: env?.operationId, hostId: env?.hostId });
    msg.respond(encode(reply));
  }
}

function toTransportError(e: unknown, subject: string): NcoError {
  const code = (e as { code?: string }).code;
  if (code === '503') return new NcoError('unavailable', `no service is answering on ${subject}`);
  if (code === 'TIMEOUT') return new NcoError('timeout', `no answer on ${subject} in time`);
  return new NcoError('unavailable', `request on ${subject} failed: ${(e as Error).message}`);
}

export { natsHeaders };
