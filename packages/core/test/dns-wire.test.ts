import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../src/dns/options.js';
import { isInZone, nameToKey, parseQuery } from '../src/dns/wire.js';
import { DnsConfigError, DnsListenError, DnsResponder, isPbxkitError, nextSerial } from '../src/index.js';
import { encodeQuery, floodPackets } from './dns-packets.js';

const base = { zone: 'branch.example.com', targets: { normal: '192.0.2.10', failover: '192.168.1.10' } };

describe('parseQuery', () => {
  it('reads the question and the OPT record of a query', () => {
    const parsed = parseQuery(encodeQuery(0xabcd, 'SIP.branch.example.com', 28, { ednsPayload: 4096 }));
    expect(parsed.ok && parsed.query).toMatchObject({
      id: 0xabcd,
      rd: true,
      qtype: 28,
      qclass: 1,
      nameKey: nameToKey('sip.branch.example.com'),
      ednsPayload: 4096,
      ednsVersion: 0,
      dnssecOk: false,
    });
    const plain = parseQuery(encodeQuery(1, 'sip.branch.example.com', 1));
    expect(plain.ok && plain.query.ednsPayload).toBe(0);
  });

  it('rejects each malformed packet from its header or with bounds checks, saying why (it is dropped)', () => {
    const [manyQuestions, overrun, loop, manyRecords, cutOpt, short, noise] = floodPackets();
    const outcome = (packet: Buffer | undefined) => {
      if (!packet) throw new Error('floodPackets() changed');
      const parsed = parseQuery(packet);
      return parsed.ok ? 'ok' : parsed.reason;
    };
    // 65,535 questions claimed in 12 bytes: refused from the count alone, nothing else is read.
    expect(outcome(manyQuestions)).toBe('question_count');
    expect(outcome(overrun)).toBe('question');
    // A compression pointer in a query's only name is refused, not followed (no loops, no jumps).
    expect(outcome(loop)).toBe('question');
    expect(outcome(manyRecords)).toBe('records');
    expect(outcome(cutOpt)).toBe('opt');
    expect(outcome(short)).toBe('short');
    expect(outcome(noise)).not.toBe('ok');
    const response = encodeQuery(5, 'sip.branch.example.com', 1);
    response[2] = 0x81;
    expect(outcome(response)).toBe('response');
    const notify = encodeQuery(6, 'sip.branch.example.com', 6);
    notify[2] = 0x20;
    expect(outcome(notify)).toBe('opcode');
    const longName = encodeQuery(7, Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.'), 1);
    expect(outcome(longName)).toBe('question');
  });
});

describe('zone membership', () => {
  it('needs the zone to end the name on a label boundary', () => {
    const zone = nameToKey('branch.example.com');
    expect(isInZone(nameToKey('branch.example.com'), zone)).toBe(true);
    expect(isInZone(nameToKey('a.b.branch.example.com'), zone)).toBe(true);
    expect(isInZone(nameToKey('xbranch.example.com'), zone)).toBe(false);
    // One label `a\x06branch` followed by example.com: ends with the zone's bytes, but not on a boundary.
    expect(isInZone(`\x08a\x06branch\x07example\x03com\x00`, zone)).toBe(false);
  });
});

describe('SOA serial', () => {
  it('is the Unix time of the change, one more when changes share a second, and stays within 32 bits', () => {
    expect(nextSerial(1_780_000_000, 1_780_000_500)).toBe(1_780_000_500);
    expect(nextSerial(1_780_000_500, 1_780_000_500)).toBe(1_780_000_501);
    // A clock stepped back never lowers the serial.
    expect(nextSerial(1_780_000_501, 1_700_000_000)).toBe(1_780_000_502);
    expect(nextSerial(0xffffffff, 1_780_000_000)).toBe(1);
    // yyyyMMddHHmmss (Synch's) does not fit 32 bits; this does until 2106.
    expect(20261202081500).toBeGreaterThan(0xffffffff);
  });

  it('follows the injected clock through setState', () => {
    let clock = 1_780_000_000;
    const responder = new DnsResponder({ ...base, now: () => clock });
    expect(responder.serial).toBe(1_780_000_000);
    responder.setState('failover');
    expect(responder.serial).toBe(1_780_000_001);
    clock = 1_780_000_100;
    responder.setState('normal');
    expect(responder.serial).toBe(1_780_000_100);
    responder.setState('normal');
    expect(responder.serial).toBe(1_780_000_100);
  });
});

describe('DnsResponder configuration', () => {
  it('rejects what it cannot serve with DNS_CONFIG errors', () => {
    const bad: Array<Record<string, unknown>> = [
      { zone: 'branch..example.com' },
      { targets: { normal: 'pbx.example.com', failover: '192.168.1.10' } },
      { targets: { normal: [], failover: '192.168.1.10' } },
      { recordTtl: -1 },
      { soa: { minimum: 2 ** 31 } },
      { record: 'bad name' },
      { forwarder: 'resolver.example.com' },
      { listen: { port: 70000 } },
      { state: 'down' },
    ];
    for (const change of bad) {
      expect(() => new DnsResponder({ ...base, ...change } as never), JSON.stringify(change)).toThrow(
        DnsConfigError,
      );
    }
    const responder = new DnsResponder(base);
    expect(() => responder.setState('up' as never)).toThrow(DnsConfigError);
    expect(() => responder.setTarget('not-an-ip')).toThrow(DnsConfigError);
    const error = (() => {
      try {
        responder.setTarget([]);
      } catch (err) {
        return err;
      }
    })();
    expect(isPbxkitError(error, 'DNS_CONFIG')).toBe(true);
  });

  it('reads forwarders as address, address:port, [v6]:port or bare v6', () => {
    expect(parseHostPort('192.0.2.1', 'f')).toEqual({ address: '192.0.2.1', port: 53 });
    expect(parseHostPort('192.0.2.1:5353', 'f')).toEqual({ address: '192.0.2.1', port: 5353 });
    expect(parseHostPort('[2001:db8::1]:5353', 'f')).toEqual({ address: '2001:db8::1', port: 5353 });
    expect(parseHostPort('2001:db8::1', 'f')).toEqual({ address: '2001:db8::1', port: 53 });
  });

  it('rejects start() with DNS_LISTEN when the port is taken', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    try {
      const responder = new DnsResponder({
        ...base,
        listen: { address: '127.0.0.1', port: holder.address().port },
      });
      await expect(responder.start()).rejects.toThrow(DnsListenError);
      expect(responder.address()).toBeUndefined();
    } finally {
      holder.close();
    }
  });
});
