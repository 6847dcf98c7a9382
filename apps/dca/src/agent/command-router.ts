import {
  BusLogger,
  decodeEnvelope,
  encode,
  Envelope,
  ERROR_TYPE,
  isNcoError,
  makeEnvelope,
  NatsBus,
  NcoError,
  RequestContract,
  Subjects,
} from '@nco/events';
import type { ChallengeCommand } from '@nco/events';
import { Msg } from 'nats';
import { DriverError } from '../driver/driver';
import { CommandGuard, SecurityRefusal } from '../security/command-guard';
import type { Agent, InstallCommandBody, ModuleCommandBody, PriorityCommandBody, ToggleCommandBody } from './agent';
import { INVERSE_COMMANDS } from '../middlebox/inverse-commands';

interface Command {
  contract: RequestContract<{ hostId: number }, any, any>;
  run(agent: Agent, body: unknown): Promise<unknown>;
}

/** NCO → device commands by verb, the tokens after `nco.dev.<hostId>.cmd.` (`install`, `inverse.install`). */
const COMMANDS: Record<string, Command> = {
  report: { contract: Subjects.device.requestReport, run: (agent) => agent.answerReportRequest() },
  symvers: { contract: Subjects.device.symvers, run: (agent) => agent.answerSymvers() },
  install: { contract: Subjects.device.install, run: (agent, body) => agent.install(body as InstallCommandBody) },
  toggle: { contract: Subjects.device.toggle, run: (agent, body) => agent.toggle(body as ToggleCommandBody) },
  priority: { contract: Subjects.device.priority, run: (agent, body) => agent.setPriority(body as PriorityCommandBody) },
  deprecate: { contract: Subjects.device.deprecate, run: (agent, body) => agent.deprecate(body as ModuleCommandBody) },
  revoke: { contract: Subjects.device.revoke, run: (agent, body) => agent.revoke(body as ModuleCommandBody) },
  challenge: { contract: Subjects.device.challenge, run: (agent, body) => agent.challenge(body as ChallengeCommand) },
  ...INVERSE_COMMANDS,
};

// Derived from a command contract so the prefix is written once, in libs/events.
const CMD_PATTERN = Subjects.device.requestReport.pattern.split('.').slice(0, -1).concat('>').join('.');
const HOST_TOKEN = Subjects.device.requestReport.pattern.split('.').indexOf('*');
const VERB_TOKEN = CMD_PATTERN.split('.').length - 1;

/** `nco.dev.<hostId>.cmd.>`, or every device's commands when no host id is given. */
export function commandSubject(hostId?: number): string {
  return hostId === undefined ? CMD_PATTERN : CMD_PATTERN.replace('*', String(hostId));
}

/**
 * Delivers command requests to agents: one subscription can serve one device or a whole fleet.
 * Each message is checked against its contract and must name the host it arrived for; a refusal
 * gets an `error` reply and a device incident. A device that is not running does not answer, as
 * an offline device would not.
 */
export class CommandRouter {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly bus: Pick<NatsBus, 'publish'>,
    private readonly find: (hostId: number) => Agent | undefined,
    private readonly log: BusLogger,
    /** Signature, host, freshness and replay checks (apps/dca/src/security); none only in development. */
    private readonly guard?: CommandGuard,
  ) {}

  /** The subscription callback. */
  readonly onMessage = (err: Error | null, msg: Msg): void => {
    if (err) {
      this.log.error({ err: err.message }, 'command subscription error');
      return;
    }
    const p = this.handle(msg).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  };

  /** Resolves when every command being handled has been answered. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async handle(msg: Msg): Promise<void> {
    const tokens = msg.subject.split('.');
    const hostId = Number(tokens[HOST_TOKEN]);
    const agent = this.find(hostId);
    if (!agent || agent.state !== 'running') return;
    const verb = tokens.slice(VERB_TOKEN).join('.');
    const command = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
    let env: { id?: string; operationId?: string; hostId?: number; body?: unknown } = {};
    try {
      if (!command) throw new NcoError('invalid_request', `unknown command ${tokens.slice(VERB_TOKEN).join('.')}`);
      if (this.guard) {
        const raw = parseRaw(msg.data, command.contract.maxBytes);
        env = { id: typeof raw.id === 'string' ? raw.id.slice(0, 64) : undefined };
        this.guard.check(raw, msg.subject, hostId);
      }
      env = decodeEnvelope(msg.data, command.contract.envelope, command.contract.maxBytes);
      if (env.hostId !== undefined && env.hostId !== hostId) {
        throw new NcoError('invalid_request', `command is meant for host ${env.hostId}, not ${hostId}`);
      }
      const result = await command.run(agent, env.body);
      this.respond(msg, makeEnvelope(command.contract.replyType, result, { operationId: env.operationId, hostId }), agent);
    } catch (e) {
      const err = toNcoError(e);
      if (err.code === 'internal') this.log.error({ hostId, subject: msg.subject, err: e }, 'command failed');
      else this.log.warn({ hostId, subject: msg.subject, err: err.message }, 'command refused');
      this.respond(msg, makeEnvelope(ERROR_TYPE, err.toBody(), { operationId: env.operationId, hostId }), agent);
      this.incident(hostId, msg.subject, err, env.id, agent);
    }
  }

  /** Answers signed by the device's identity (bound to the command's subject), so the NCO knows who answered. */
  private respond(msg: Msg, env: Envelope<unknown>, agent: Agent): void {
    if (!msg.reply) return;
    agent.sign?.(env, msg.subject);
    msg.respond(encode(env));
  }

  private incident(hostId: number, subject: string, err: NcoError, messageId: string | undefined, agent: Agent): void {
    try {
      const kind = err instanceof SecurityRefusal ? err.incidentKind : err.code === 'internal' ? 'command_failed' : 'command_refused';
      const body = { kind, reason: err.message.slice(0, 2048), subject, messageId };
      this.bus.publish(Subjects.device.incident, { hostId }, body, { hostId, sign: agent.sign });
    } catch (e) {
      this.log.warn({ hostId, err: (e as Error).message }, 'incident not published');
    }
  }
}

/** The message's JSON as sent (the signature covers the body as serialised), size-checked first. */
function parseRaw(data: Uint8Array, maxBytes: number): Record<string, unknown> {
  if (data.byteLength > maxBytes) throw new NcoError('invalid_message', `message is ${data.byteLength} bytes, limit is ${maxBytes}`);
  try {
    const raw = JSON.parse(new TextDecoder().decode(data));
    if (typeof raw === 'object' && raw !== null) return raw;
  } catch {
    // falls through to the same refusal as a non-object
  }
  throw new NcoError('invalid_message', 'message is not valid JSON');
}

function toNcoError(e: unknown): NcoError {
  if (isNcoError(e)) return e;
  // The device could not do what was asked: the driver's text is the answer the NCO records.
  if (e instanceof DriverError) return new NcoError(e.code, e.message);
  return new NcoError('internal', 'device agent error');
}
