import { fleetMac, parseMiddleboxes } from './fleet-macs';
import { FleetSettings } from './fleet.settings';
import { loadConfig } from '../runtime';

describe('fleet MACs and settings', () => {
  it('derives distinct MACs from the prefix and the index', () => {
    expect(fleetMac('02:00:00', 0)).toBe('02:00:00:00:00:01');
    expect(fleetMac('02:AA:00', 9_999)).toBe('02:aa:00:00:27:10');
    const macs = new Set(Array.from({ length: 70_000 }, (_, i) => fleetMac('02:00:00', i)));
    expect(macs.size).toBe(70_000);
    expect(() => fleetMac('02:00:00', 0xffffff)).toThrow(RangeError);
  });

  it('parses middlebox counts and names a bad part', () => {
    expect(parseMiddleboxes('wireshark:1, ids:2,wireshark:1')).toEqual({ wireshark: 2, ids: 2 });
    expect(() => parseMiddleboxes('wireshark')).toThrow('"wireshark" is not type:count');
  });

  it('loads fleet settings with defaults and refuses bad ones by name', () => {
    expect(loadConfig(FleetSettings, {})).toMatchObject({ FLEET_SIZE: 3, FLEET_RELEASE: '6.1.0-sim-amd64', FLEET_MAC_PREFIX: '02:00:00', FLEET_CHECKIN_CONCURRENCY: 500 });
    expect(loadConfig(FleetSettings, { FLEET_MIDDLEBOXES: 'wireshark:1,ids:1' }).FLEET_MIDDLEBOXES).toEqual({ wireshark: 1, ids: 1 });
    expect(() => loadConfig(FleetSettings, { FLEET_SIZE: 'many' })).toThrow(/FLEET_SIZE/);
    expect(() => loadConfig(FleetSettings, { FLEET_MIDDLEBOXES: 'ids=1' })).toThrow(/FLEET_MIDDLEBOXES: "ids=1" is not type:count/);
    expect(() => loadConfig(FleetSettings, { FLEET_MAC_PREFIX: '02:00' })).toThrow(/FLEET_MAC_PREFIX: expected three octets/);
  });
});
