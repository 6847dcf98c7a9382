import { devicePermissions, rolePermissions } from './nats-permissions';

describe('NATS permissions', () => {
  it('a device is confined to its own subjects and inbox', () => {
    expect(devicePermissions(42)).toEqual({
      pub: { allow: ['nco.checkin', 'nco.dev.42.report', 'nco.dev.42.evt.>'], deny: ['nco.dev.42.cmd.>'] },
      sub: { allow: ['nco.dev.42.cmd.>', '_INBOX_42.>'] },
      resp: { max: 1, ttl: 0 },
    });
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses host id %p (no wildcard or malformed subject can come out)', (id) => {
    expect(() => devicePermissions(id)).toThrow(/bad host id/);
  });

  it('an operator may follow the NCO streams but not change, purge or delete them, nor touch device subjects', () => {
    const pub = rolePermissions('operator').pub!.allow!;
    expect(pub).toEqual(expect.arrayContaining(['nco.cmd.>', '$JS.API.CONSUMER.CREATE.NCO_REPORTS.>', '$JS.API.CONSUMER.MSG.NEXT.NCO_EVENTS.*']));
    expect(pub.filter((s) => /STREAM\.(CREATE|UPDATE|DELETE|PURGE)|MSG\.DELETE|^\$JS\.API\.>$|^>$|nco\.dev/.test(s))).toEqual([]);
  });

  it('the bootstrap user can only check in', () => {
    expect(rolePermissions('bootstrap')).toEqual({ pub: { allow: ['nco.checkin'] }, sub: { allow: ['_INBOX_enroll.>'] } });
  });
});
