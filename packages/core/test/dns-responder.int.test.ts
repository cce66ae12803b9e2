import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResponder, type DnsResponderOptions, Registry } from '../src/index.js';
import { dataOf, dig } from './dns-dig.js';
import { answerRecords, encodeQuery, wireName } from './dns-packets.js';

const ZONE = 'branch.example.com';
const START_SERIAL = 1_780_000_000;

function options(overrides: Partial<DnsResponderOptions> = {}): DnsResponderOptions {
  let clock = START_SERIAL;
  return {
    zone: ZONE,
    record: 'sip',
    recordTtl: 20,
    ttl: 600,
    targets: { normal: ['192.0.2.10', '2001:db8::10'], failover: ['192.168.1.10'] },
    nameServers: [{ name: 'ns1', addresses: '127.0.0.1' }],
    soa: { refresh: 1800, retry: 300, expire: 604800, minimum: 45 },
    listen: { address: '127.0.0.1', port: 0 },
    now: () => clock++,
    ...overrides,
  };
}

describe('DnsResponder answers its zone to dig', () => {
  const registry = new Registry();
  const responder = new DnsResponder(options({ registry }));
  let port: number;

  beforeAll(async () => {
    await responder.start();
    port = responder.address()?.port as number;
  });
  afterAll(() => responder.stop());

  for (const transport of ['+notcp', '+tcp']) {
    it(`answers A and AAAA of the SIP record authoritatively over ${transport === '+tcp' ? 'TCP' : 'UDP'}`, async () => {
      const a = await dig(port, 'sip.branch.example.com', 'A', transport);
      expect(a.status).toBe('NOERROR');
      expect(a.flags).toContain('aa');
      expect(a.transport).toBe(transport === '+tcp' ? 'TCP' : 'UDP');
      expect(a.answer).toEqual([{ name: 'sip.branch.example.com.', ttl: 20, type: 'A', data: '192.0.2.10' }]);
      const aaaa = await dig(port, 'SIP.Branch.Example.COM', 'AAAA', transport);
      // The question comes back in the client's case (0x20-randomising resolvers check it).
      expect(aaaa.answer).toEqual([
        { name: 'SIP.Branch.Example.COM.', ttl: 20, type: 'AAAA', data: '2001:db8::10' },
      ]);
    });

    it(`answers SRV for _sip._udp, _sip._tcp and _sips._tcp, main at priority 10, local at 20 (${transport})`, async () => {
      for (const [service, port5060] of [
        ['_sip._udp', 5060],
        ['_sip._tcp', 5060],
        ['_sips._tcp', 5061],
      ] as const) {
        const srv = await dig(port, `${service}.sip.${ZONE}`, 'SRV', transport);
        expect(srv.status).toBe('NOERROR');
        expect(dataOf(srv.answer, 'SRV')).toEqual([
          `10 10 ${port5060} main.${ZONE}.`,
          `20 10 ${port5060} local.${ZONE}.`,
        ]);
        // The targets' addresses come along, so a handset needs no second lookup.
        expect(dataOf(srv.additional, 'A')).toEqual(['192.0.2.10', '192.168.1.10']);
        expect(dataOf(srv.additional, 'AAAA')).toEqual(['2001:db8::10']);
      }
    });
  }

  it('writes SRV targets and NAPTR replacements in full, never compressed (RFC 2782, RFC 3403)', async () => {
    // Strict resolvers (c-ares 1.34.8, in Node.js 22 and 24) reject the whole answer otherwise.
    const socket = createSocket('udp4');
    try {
      const ask = async (id: number, name: string, type: number) => {
        const answered = once(socket, 'message');
        socket.send(encodeQuery(id, name, type), port, '127.0.0.1');
        return answerRecords((await answered)[0] as Buffer);
      };
      const srv = await ask(1, `_sip._udp.sip.${ZONE}`, 33);
      expect(srv.map((r) => r.rdata.subarray(6))).toEqual([
        wireName(`main.${ZONE}`),
        wireName(`local.${ZONE}`),
      ]);
      const naptr = await ask(2, `sip.${ZONE}`, 35);
      expect(naptr[0]?.rdata.subarray(-wireName(`_sip._udp.sip.${ZONE}`).length)).toEqual(
        wireName(`_sip._udp.sip.${ZONE}`),
      );
    } finally {
      socket.close();
    }
  });

  it('answers NAPTR pointing at the SRV records, in transport order (RFC 3263)', async () => {
    const naptr = await dig(port, `sip.${ZONE}`, 'NAPTR');
    expect(naptr.answer.map((r) => r.data)).toEqual([
      `10 10 "s" "SIP+D2U" "" _sip._udp.sip.${ZONE}.`,
      `20 10 "s" "SIP+D2T" "" _sip._tcp.sip.${ZONE}.`,
      `30 10 "s" "SIPS+D2T" "" _sips._tcp.sip.${ZONE}.`,
    ]);
    expect(naptr.additional.filter((r) => r.type === 'SRV')).toHaveLength(6);
  });

  it('answers SOA with the configured timers and a 32-bit serial, and NS with its address', async () => {
    const soa = await dig(port, ZONE, 'SOA', '+tcp');
    expect(soa.answer).toEqual([
      {
        name: `${ZONE}.`,
        ttl: 600,
        type: 'SOA',
        data: `ns1.${ZONE}. hostmaster.${ZONE}. ${responder.serial} 1800 300 604800 45`,
      },
    ]);
    expect(responder.serial).toBeLessThanOrEqual(0xffffffff);
    const ns = await dig(port, ZONE, 'NS');
    expect(dataOf(ns.answer, 'NS')).toEqual([`ns1.${ZONE}.`]);
    expect(dataOf(ns.additional, 'A')).toEqual(['127.0.0.1']);
  });

  for (const transport of ['+notcp', '+tcp']) {
    it(`answers NXDOMAIN and NODATA with the SOA in the authority section (${transport})`, async () => {
      const negativeSoa = `ns1.${ZONE}. hostmaster.${ZONE}. ${responder.serial} 1800 300 604800 45`;
      const nx = await dig(port, `nobody.${ZONE}`, 'A', transport);
      expect(nx.status).toBe('NXDOMAIN');
      expect(nx.flags).toContain('aa');
      expect(nx.answer).toEqual([]);
      // RFC 2308: the SOA is kept min(SOA TTL, minimum) = 45 s.
      expect(nx.authority).toEqual([{ name: `${ZONE}.`, ttl: 45, type: 'SOA', data: negativeSoa }]);
      const nodata = await dig(port, `sip.${ZONE}`, 'TXT', transport);
      expect(nodata.status).toBe('NOERROR');
      expect(nodata.answer).toEqual([]);
      expect(nodata.authority.map((r) => r.type)).toEqual(['SOA']);
      // A name that exists only as a parent of others (`_udp.sip`) is NODATA, not NXDOMAIN (RFC 8020).
      const parent = await dig(port, `_udp.sip.${ZONE}`, 'A', transport);
      expect(parent.status).toBe('NOERROR');
      expect(parent.authority.map((r) => r.type)).toEqual(['SOA']);
    });
  }

  it('answers REFUSED for a name outside the zone when no forwarder is configured', async () => {
    const out = await dig(port, 'www.example.org', 'A');
    expect(out.status).toBe('REFUSED');
    expect(out.flags).not.toContain('aa');
  });

  it('echoes EDNS (payload 1232, the DO bit) and leaves it out when the query has none', async () => {
    expect((await dig(port, `sip.${ZONE}`, 'A')).edns).toMatch(/version: 0, flags:; udp: 1232/);
    expect((await dig(port, `sip.${ZONE}`, 'A', '+dnssec')).edns).toMatch(/flags: do; udp: 1232/);
    const plain = await dig(port, `sip.${ZONE}`, 'A', '+noedns');
    expect(plain.edns).toBeUndefined();
    expect(plain.answer.map((r) => r.data)).toEqual(['192.0.2.10']);
  });

  it('switches the SIP record between two queries on setState and setTarget, raising the serial', async () => {
    const before = responder.serial;
    const changes: string[] = [];
    responder.on('change', (change) => changes.push(`${change.state} ${change.target.join(',')}`));
    expect(dataOf((await dig(port, `sip.${ZONE}`, 'A')).answer, 'A')).toEqual(['192.0.2.10']);

    responder.setState('failover');
    expect(dataOf((await dig(port, `sip.${ZONE}`, 'A')).answer, 'A')).toEqual(['192.168.1.10']);
    // The failover target has no IPv6 address: AAAA is now NODATA.
    const aaaa = await dig(port, `sip.${ZONE}`, 'AAAA');
    expect([aaaa.status, aaaa.answer.length, aaaa.authority[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);
    expect(responder.serial).toBeGreaterThan(before);
    const soa = await dig(port, ZONE, 'SOA');
    expect(soa.answer[0]?.data.split(' ')[2]).toBe(String(responder.serial));

    responder.setTarget(['192.0.2.99', '2001:db8::99']);
    expect(responder.state).toBe('manual');
    expect(dataOf((await dig(port, `sip.${ZONE}`, 'A', '+tcp')).answer, 'A')).toEqual(['192.0.2.99']);
    // SRV targets stay what they are: handsets that use them fail over on their own.
    const srv = await dig(port, `_sip._udp.sip.${ZONE}`, 'SRV');
    expect(dataOf(srv.additional, 'A')).toEqual(['192.0.2.10', '192.168.1.10']);

    responder.setState('normal');
    responder.setState('normal');
    expect(dataOf((await dig(port, `sip.${ZONE}`, 'A')).answer, 'A')).toEqual(['192.0.2.10']);
    expect(changes).toEqual([
      'failover 192.168.1.10',
      'manual 192.0.2.99,2001:db8::99',
      'normal 192.0.2.10,2001:db8::10',
    ]);
  });

  it('counts queries by type, result and transport', async () => {
    await dig(port, `nobody.${ZONE}`, 'A', '+tcp');
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/pbxkit_core_dns_queries_total\{type="A",result="answer",transport="udp"\} \d+/);
    expect(metrics).toMatch(
      /pbxkit_core_dns_queries_total\{type="A",result="nxdomain",transport="tcp"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /pbxkit_core_dns_queries_total\{type="NAPTR",result="answer",transport="udp"\} [1-9]/,
    );
    expect(metrics).toMatch(/pbxkit_core_dns_state_info\{state="normal"\} 1/);
    expect(metrics).toMatch(/pbxkit_core_dns_response_duration_seconds_count\{source="zone"\} [1-9]/);
  });
});

describe('DnsResponder truncation', () => {
  // 40 addresses: 680 bytes of answer, more than 512 without EDNS, less than 1232 with it.
  const many = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
  const responder = new DnsResponder(options({ targets: { normal: many, failover: '192.168.1.10' } }));
  let port: number;

  beforeAll(async () => {
    await responder.start();
    port = responder.address()?.port as number;
  });
  afterAll(() => responder.stop());

  it('sets TC above 512 bytes without EDNS, and the client gets everything over TCP', async () => {
    const truncated = await dig(port, `sip.${ZONE}`, 'A', '+noedns', '+ignore');
    expect(truncated.flags).toContain('tc');
    expect(truncated.answer).toEqual([]);
    // Without +ignore, dig does what a stub resolver does on TC: asks again over TCP.
    const retried = await dig(port, `sip.${ZONE}`, 'A', '+noedns');
    expect(retried.transport).toBe('TCP');
    expect(dataOf(retried.answer, 'A')).toEqual([...many].sort());
    const withEdns = await dig(port, `sip.${ZONE}`, 'A', '+ignore');
    expect(withEdns.flags).not.toContain('tc');
    expect(withEdns.answer).toHaveLength(40);
  });

  it('drops additional records before truncating an answer that fits without them', async () => {
    const srv = await dig(port, `_sip._udp.sip.${ZONE}`, 'SRV', '+noedns', '+ignore');
    expect(srv.flags).not.toContain('tc');
    expect(srv.answer).toHaveLength(2);
    expect(srv.additional).toEqual([]);
    const full = await dig(port, `_sip._udp.sip.${ZONE}`, 'SRV');
    expect(full.additional).toHaveLength(41);
  });
});
