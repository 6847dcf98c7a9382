import { BasicAuthMiddleware } from './basic-auth.middleware';
import { DashboardConfig } from '../settings';

function run(auth: string | undefined, header?: string) {
  const mw = new BasicAuthMiddleware({ DASHBOARD_BASIC_AUTH: auth } as DashboardConfig);
  const res = { status: jest.fn().mockReturnThis(), json: jest.fn(), setHeader: jest.fn() };
  const next = jest.fn();
  mw.use({ headers: header ? { authorization: header } : {} } as never, res as never, next);
  return { res, next };
}
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

describe('BasicAuthMiddleware', () => {
  it('lets everything through when DASHBOARD_BASIC_AUTH is unset', () => {
    expect(run(undefined).next).toHaveBeenCalled();
  });

  it('accepts the configured user and password', () => {
    expect(run('ops:correct-horse', basic('ops:correct-horse')).next).toHaveBeenCalled();
  });

  it.each([
    ['no header', undefined],
    ['a wrong password', basic('ops:wrong-horse')],
    ['another scheme', 'Bearer ops:correct-horse'],
  ])('answers 401 with a challenge for %s', (_what, header) => {
    const { res, next } = run('ops:correct-horse', header);
    expect(next).not.toHaveBeenCalled();
    expect(res.status).toHaveBeenCalledWith(401);
    expect(res.setHeader).toHaveBeenCalledWith('WWW-Authenticate', expect.stringMatching(/^Basic realm=/));
  });
});
