import { DriverError } from './driver';
import { defaultHelperPath, HelperNetlinkTransport } from './netlink-transport';

/** The shipped Python helper against this machine's kernel: real netlink sockets, no core needed. */
describe('l45_netlink.py (real helper, real netlink sockets)', () => {
  it('is found next to the sources', () => {
    expect(defaultHelperPath()).toMatch(/apps\/dca\/scripts\/l45_netlink\.py$/);
  });

  it('fails clearly when protocol 25 cannot be opened (no Layer 4.5 core loaded)', async () => {
    let opened: HelperNetlinkTransport | undefined;
    try {
      opened = await HelperNetlinkTransport.open();
    } catch (e) {
      expect(e).toBeInstanceOf(DriverError);
      expect((e as Error).message).toMatch(/^cannot open the Layer 4\.5 netlink socket \(protocol 25\): netlink protocol 25: .+\(errno \d+\)\. The Linux driver needs root and the Layer 4\.5 core \(layer4_5\.ko\) loaded$/);
      return;
    }
    // This machine has the core loaded: then the socket must open and answer a report.
    await opened.close();
  });

  it('opens a netlink socket and frames a request end to end (NETLINK_ROUTE ignores it: a timeout frame)', async () => {
    const t = await HelperNetlinkTransport.open({ protocol: 0, timeoutMs: 200 });
    try {
      await expect(t.request('CUST_REPORT')).rejects.toThrow('netlink CUST_REPORT: no answer from the kernel within 200 ms');
    } finally {
      await t.close();
    }
  });

  it('names a missing interpreter or script', async () => {
    await expect(HelperNetlinkTransport.open({ python: 'python3-does-not-exist' })).rejects.toThrow('python3-does-not-exist was not found (the netlink helper needs Python 3)');
    await expect(HelperNetlinkTransport.open({ script: '/nope/l45_netlink.py' })).rejects.toThrow('the netlink helper /nope/l45_netlink.py does not exist (set DCA_NETLINK_HELPER)');
  });
});
