import { KernelReport, KernelResult, MODULE_ID_MAX, MODULE_ID_MIN, PRIORITY_MAX, PRIORITY_MIN } from '@nco/events';
import { z } from 'zod';
import { ChallengeAnswer, CommandResult, DriverError } from './driver';

/**
 * The Layer 4.5 core's netlink text protocol (netlink protocol 25). Requests are ASCII:
 *
 *   CUST_REPORT
 *   DEPRECATE <id> END
 *   TOGGLE <id> <mode> END
 *   PRIORITY <id> <priority> END
 *   CHALLENGE <id> <iv hex> <msg hex> END
 *
 * Answers are JSON followed by `;`, NUL-padded: `{"Installed":[...],...};\0\0\0`. The transport
 * sends the request text followed by one NUL (the core reads a C string).
 */
export const NETLINK_PROTOCOL = 25;

function moduleId(id: number): number {
  if (!Number.isInteger(id) || id < MODULE_ID_MIN || id > MODULE_ID_MAX) throw new DriverError(`module id ${id} is not in ${MODULE_ID_MIN}..${MODULE_ID_MAX}`);
  return id;
}

export const requests = {
  report: (): string => 'CUST_REPORT',
  deprecate: (id: number): string => `DEPRECATE ${moduleId(id)} END`,
  toggle: (id: number, mode: 0 | 1): string => {
    if (mode !== 0 && mode !== 1) throw new DriverError(`mode must be 0 or 1, got ${JSON.stringify(mode)}`);
    return `TOGGLE ${moduleId(id)} ${mode} END`;
  },
  priority: (id: number, priority: number): string => {
    if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
      throw new DriverError(`priority must be an integer in ${PRIORITY_MIN}..${PRIORITY_MAX}, got ${JSON.stringify(priority)}`);
    }
    return `PRIORITY ${moduleId(id)} ${priority} END`;
  },
  challenge: (id: number, iv: Buffer, msg: Buffer): string => `CHALLENGE ${moduleId(id)} ${iv.toString('hex')} ${msg.toString('hex')} END`,
};

const Hex = (what: string) => z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, `${what} must be hex`);
/** The core's answer to CHALLENGE: a 16-byte IV and a whole number of AES blocks, in hex. */
export const KernelChallengeAnswer = z
  .object({ IV: Hex('IV').refine((s) => s.length === 32, 'IV must be 16 bytes'), Response: Hex('Response').refine((s) => s.length % 32 === 0, 'Response must be whole AES blocks') })
  .strict();

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A short, printable view of bytes that were not what we expected (for error text): non-printables as \xNN. */
function preview(bytes: Buffer): string {
  const text = bytes.subarray(0, 60).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${text}'${bytes.length > 60 ? `… (${bytes.length} bytes)` : ''}`;
}

/**
 * Parses one answer of the core strictly: trailing NULs stripped, then the text must end with
 * the `;` terminator, hold no other NUL, be UTF-8, be JSON, and match `schema`. Anything else is a
 * DriverError that says which request got which kind of garbage.
 */
export function parseAnswer<T>(raw: Buffer, schema: z.ZodType<T>, request: string, contract: string): T {
  const verb = request.split(' ')[0];
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  if (end === 0) throw new DriverError(`the core's answer to ${verb} is empty${raw.length ? ` (${raw.length} NUL bytes)` : ''}`, 'unavailable');
  const body = raw.subarray(0, end);
  if (body[end - 1] !== 0x3b) throw new DriverError(`the core's answer to ${verb} is not terminated by ';': ${preview(body)}`, 'unavailable');
  const nul = body.indexOf(0);
  if (nul >= 0) throw new DriverError(`the core's answer to ${verb} has a NUL byte at ${nul}, before its ';' terminator: ${preview(body)}`, 'unavailable');
  let text: string;
  try {
    text = utf8.decode(body.subarray(0, end - 1));
  } catch {
    throw new DriverError(`the core's answer to ${verb} is not UTF-8 text: ${preview(body)}`, 'unavailable');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DriverError(`the core's answer to ${verb} is not JSON (${(e as Error).message}): ${preview(body)}`, 'unavailable');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new DriverError(`the core's answer to ${verb} is not a ${contract}: ${where}: ${issue?.message}`, 'unavailable');
  }
  return parsed.data;
}

export const parseReport = (raw: Buffer): KernelReport => parseAnswer(raw, KernelReport, requests.report(), 'KernelReport');

/** A command answer, which must name the module the request named. */
export function parseResult(raw: Buffer, request: string, moduleId: number): CommandResult {
  const r = parseAnswer(raw, KernelResult, request, 'KernelResult');
  if (r.ID !== moduleId) throw new DriverError(`the core answered ${request.split(' ')[0]} for module ${r.ID}, but module ${moduleId} was asked about`, 'unavailable');
  return r;
}

export function parseChallengeAnswer(raw: Buffer, request: string): ChallengeAnswer {
  const a = parseAnswer(raw, KernelChallengeAnswer, request, 'challenge answer {IV, Response}');
  return { IV: a.IV.toLowerCase(), Response: a.Response.toLowerCase() };
}
