import { KernelReport } from '@nco/events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriverError } from './driver';
import { parseChallengeAnswer, parseReport, parseResult, requests } from './kernel-protocol';

const fx = (name: string) => readFileSync(join(__dirname, '__fixtures__/netlink', name));

describe('Layer 4.5 core netlink text protocol', () => {
  it('formats every request kind as the core reads it', () => {
    expect(requests.report()).toBe('CUST_REPORT');
    expect(requests.deprecate(513)).toBe('DEPRECATE 513 END');
    expect(requests.toggle(513, 0)).toBe('TOGGLE 513 0 END');
    expect(requests.priority(513, 40)).toBe('PRIORITY 513 40 END');
    const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    expect(requests.challenge(7, iv, Buffer.alloc(16, 0xab))).toBe(`CHALLENGE 7 000102030405060708090a0b0c0d0e0f ${'ab'.repeat(16)} END`);
  });

  it('refuses arguments that would make a malformed request', () => {
    expect(() => requests.toggle(0, 1)).toThrow('module id 0 is not in 1..65535');
    expect(() => requests.toggle(70_000, 1)).toThrow('module id 70000 is not in 1..65535');
    expect(() => requests.toggle(5, 2 as 1)).toThrow('mode must be 0 or 1');
    expect(() => requests.priority(5, 0)).toThrow('priority must be an integer in 1..65534');
    expect(() => requests.priority(5, 1.5)).toThrow('priority must be an integer');
    expect(() => requests.deprecate(Number.NaN)).toThrow('module id NaN');
  });

  it('parses a NUL-padded report into the contract shape', () => {
    const report = parseReport(fx('report.txt'));
    expect(report).toEqual({
      Installed: [
        { ID: 513, Activated: 1, Count: 2, ts: 1764000000.5 },
        { ID: 600, Activated: 0, Count: 0, ts: 1764000050 },
      ],
      Deprecated: [{ ID: 7, Activated: 1, Count: 1, ts: 1764000100 }],
      Revoked: [{ ID: 4, ts: 1764000200.25 }],
    });
    expect(KernelReport.parse(report)).toEqual(report);
    expect(parseReport(fx('report-empty.txt'))).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
  });

  it('accepts an answer without padding, and one with a whole buffer of it', () => {
    const bare = Buffer.from('{"ID":5,"Result":1};');
    expect(parseResult(bare, 'TOGGLE 5 1 END', 5)).toEqual({ ID: 5, Result: 1 });
    expect(parseResult(Buffer.concat([bare, Buffer.alloc(4096)]), 'TOGGLE 5 1 END', 5)).toEqual({ ID: 5, Result: 1 });
  });

  it('parses command results and checks they name the module asked about', () => {
    expect(parseResult(fx('toggle-ok.txt'), 'TOGGLE 513 0 END', 513)).toEqual({ ID: 513, Result: 1 });
    expect(parseResult(fx('toggle-refused.txt'), 'TOGGLE 99 1 END', 99)).toEqual({ ID: 99, Result: 0 });
    expect(() => parseResult(fx('toggle-ok.txt'), 'TOGGLE 514 0 END', 514)).toThrow("the core answered TOGGLE for module 513, but module 514 was asked about");
  });

  it('parses a challenge answer', () => {
    expect(parseChallengeAnswer(fx('challenge.txt'), 'CHALLENGE …')).toEqual({ IV: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', Response: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(() => parseChallengeAnswer(Buffer.from('{"IV":"zz","Response":"00"};'), 'CHALLENGE 1')).toThrow(/not a challenge answer \{IV, Response\}: IV: IV must be hex/);
    expect(() => parseChallengeAnswer(Buffer.from(`{"IV":"${'00'.repeat(16)}","Response":"00"};`), 'CHALLENGE 1')).toThrow('Response: Response must be whole AES blocks');
  });

  it.each([
    ['garbage-unterminated.txt', 'TOGGLE', `the core's answer to TOGGLE is not terminated by ';': '{"ID":513,"Result":1}'`],
    ['garbage-not-json.txt', 'TOGGLE', `the core's answer to TOGGLE is not JSON`],
    ['garbage-wrong-shape.txt', 'TOGGLE', `the core's answer to TOGGLE is not a KernelResult: Result:`],
    ['garbage-nul-inside.txt', 'TOGGLE', `the core's answer to TOGGLE has a NUL byte at 10, before its ';' terminator: '{"ID":513,\\x00"Result":1};'`],
    ['garbage-all-nul.txt', 'TOGGLE', `the core's answer to TOGGLE is empty (64 NUL bytes)`],
    ['garbage-truncated-report.txt', 'CUST_REPORT', `the core's answer to CUST_REPORT is not terminated by ';'`],
    ['garbage-report-shape.txt', 'CUST_REPORT', `the core's answer to CUST_REPORT is not a KernelReport: Installed.0.ID: `],
  ])('turns %s into a DriverError naming what was wrong', (file, verb, message) => {
    const parse = () => (verb === 'CUST_REPORT' ? parseReport(fx(file)) : parseResult(fx(file), `${verb} 513 1 END`, 513));
    expect(parse).toThrow(DriverError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (e) {
      expect((e as DriverError).code).toBe('unavailable');
    }
  });

  it('refuses an empty answer and bytes that are not UTF-8', () => {
    expect(() => parseReport(Buffer.alloc(0))).toThrow("the core's answer to CUST_REPORT is empty");
    expect(() => parseReport(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x3b, 0]))).toThrow("is not UTF-8 text: '{\\xff\\xfe};'");
  });
});
