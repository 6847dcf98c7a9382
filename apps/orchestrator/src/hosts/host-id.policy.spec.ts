import { NcoError } from '@nco/events';
import { diffHost, proposeHostId } from './host-id.policy';

describe('proposeHostId', () => {
  it('leaves sequential ids to the CIB sequence', () => {
    expect(proposeHostId('sequential', '10.0.0.7')).toBeNull();
  });

  it('draws random ids in the positive int32 range', () => {
    const ids = Array.from({ length: 200 }, () => proposeHostId('random', undefined)!);
    expect(ids.every((id) => id >= 1 && id <= 2_147_483_647)).toBe(true);
    expect(new Set(ids).size).toBeGreaterThan(190);
  });

  it('takes the last IPv4 octet', () => {
    expect(proposeHostId('ipv4-octet', '192.168.4.23')).toBe(23);
  });

  it.each([undefined, 'fe80::1', '10.0.0.0', '10.0.0.255'])('refuses ipv4-octet without a usable address (%s)', (ip) => {
    expect(() => proposeHostId('ipv4-octet', ip)).toThrow(NcoError);
  });
});

describe('diffHost', () => {
  it('lists only the fields that changed, treating undefined as null', () => {
    expect(diffHost({ release: '6.1', ip: null, port: 9 }, { release: '6.2', ip: undefined, port: 9 })).toEqual({
      release: { from: '6.1', to: '6.2' },
    });
  });
});
