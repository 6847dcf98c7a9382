import { BodyOf, isNcoError, NcoError, ParamsOf, ReplyOf, RequestContract } from '@nco/events';
import { CliConnection } from './nats';
import { CliSettings } from './settings';

/**
 * A request to the NCO with the CLI's timeout, and errors that say which service should have
 * answered: "no service is answering" alone does not tell an operator what to start.
 */
export async function ask<C extends RequestContract<any, any, any>>(
  conn: CliConnection,
  settings: CliSettings,
  contract: C,
  params: ParamsOf<C>,
  body: BodyOf<C>,
  answeredBy: string,
): Promise<ReplyOf<C>> {
  const timeoutMs = settings.timeoutMs ?? contract.timeoutMs;
  try {
    return await conn.bus.request(contract, params, body, { timeoutMs });
  } catch (e) {
    if (!isNcoError(e)) throw e;
    if (e.code === 'unavailable' && /no service is answering/.test(e.message)) {
      throw new NcoError(e.code, `${e.message} at ${conn.url}: is ${answeredBy} running? (npm start, see README)`);
    }
    if (e.code === 'timeout') {
      throw new NcoError(e.code, `${answeredBy} did not answer on ${contract.subject(params)} within ${timeoutMs} ms (--timeout <ms> to wait longer)`);
    }
    throw e;
  }
}
