import { ConfigError } from './runtime';
import { HostFacts, loadDcaConfig } from './settings';

const host = (ifaces: Record<string, Array<{ mac: string; internal: boolean }>>, release = '6.1.0-27-amd64'): HostFacts => ({
  networkInterfaces: (() => ifaces) as unknown as HostFacts['networkInterfaces'],
  release: () => release,
});
const eth = host({ lo: [{ mac: '00:00:00:00:00:00', internal: true }], eth0: [{ mac: '52:54:00:AB:CD:EF', internal: false }] });

describe('DCA settings', () => {
  it('defaults identity and state dir from the machine', () => {
    const c = loadDcaConfig({}, eth);
    expect(c).toMatchObject({
      DCA_MAC: '52:54:00:ab:cd:ef',
      DCA_RELEASE: '6.1.0-27-amd64',
      DCA_DRIVER: 'simulated',
      DCA_STATE_DIR: '.dca-state/525400abcdef',
      DCA_MODULES_DIR: '.dca-state/525400abcdef/modules',
      NATS_URL: ['nats://127.0.0.1:4222'],
    });
  });

  it('takes explicit settings', () => {
    const c = loadDcaConfig(
      { DCA_MAC: '02:00:00:00:00:01', DCA_RELEASE: '6.2.0', DCA_DRIVER: 'linux', DCA_STATE_DIR: '/var/lib/dca', DCA_MIDDLEBOX_TYPE: 'wireshark', DCA_IP: '10.0.0.5' },
      host({}),
    );
    expect(c).toMatchObject({
      DCA_MAC: '02:00:00:00:00:01',
      DCA_DRIVER: 'linux',
      DCA_STATE_DIR: '/var/lib/dca',
      DCA_MODULES_DIR: '/var/lib/dca/modules',
      DCA_MIDDLEBOX_TYPE: 'wireshark',
      DCA_IP: '10.0.0.5',
    });
    expect(loadDcaConfig({ DCA_MAC: '02:00:00:00:00:01', DCA_MODULES_DIR: '/lib/modules/extra/l45', DCA_NETLINK_HELPER: '/opt/dca/l45_netlink.py' }, eth)).toMatchObject({
      DCA_MODULES_DIR: '/lib/modules/extra/l45',
      DCA_NETLINK_HELPER: '/opt/dca/l45_netlink.py',
    });
  });

  it.each([
    [{ DCA_MAC: 'nope' }, eth, /DCA_MAC: expected a MAC address/],
    [{ DCA_DRIVER: 'windows' }, eth, /DCA_DRIVER/],
    [{ DCA_IP: '10.0.0' }, eth, /DCA_IP/],
    [{ DCA_MIDDLEBOX_TYPE: 'Wire Shark' }, eth, /DCA_MIDDLEBOX_TYPE/],
    [{}, host({ lo: [{ mac: '00:00:00:00:00:00', internal: true }] }), /DCA_MAC: not set, and no non-internal network interface/],
    [{}, host({ eth0: [{ mac: '52:54:00:ab:cd:ef', internal: false }] }, 'weird release!'), /DCA_RELEASE: not set, and the kernel release "weird release!" is not valid/],
  ])('names the bad setting: %j', (env, facts, message) => {
    expect(() => loadDcaConfig(env, facts)).toThrow(ConfigError);
    expect(() => loadDcaConfig(env, facts)).toThrow(message);
  });
});
