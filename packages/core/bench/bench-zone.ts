/**
 * The zone every side of the DNS benchmark serves: the same records for the responder, dns2's own server and
 * dnsmasq, and the query mix dnsperf sends (a handset's lookups: A, AAAA, SRV, NAPTR, and a name that does not
 * exist).
 */
import type { DnsResponderOptions } from '../src/index.js';

export const ZONE = 'branch.example.com';
export const SERIAL = 2_000_000_000;

export const BENCH_ZONE: DnsResponderOptions = {
  zone: ZONE,
  record: 'sip',
  recordTtl: 30,
  ttl: 300,
  targets: { normal: ['192.0.2.10', '2001:db8::10'], failover: ['192.168.1.10'] },
  nameServers: [{ name: 'ns1', addresses: '127.0.0.1' }],
  soa: { serial: SERIAL, refresh: 3600, retry: 600, expire: 86400, minimum: 300 },
  srv: { transports: ['udp', 'tcp', 'tls'] },
};

/** dnsperf's input: one `name type` per line, sent in a loop. */
export const QUERY_MIX = [
  `sip.${ZONE} A`,
  `sip.${ZONE} AAAA`,
  `_sip._udp.sip.${ZONE} SRV`,
  `sip.${ZONE} A`,
  `sip.${ZONE} NAPTR`,
  `_sip._tcp.sip.${ZONE} SRV`,
  `sip.${ZONE} A`,
  `nothing-here.${ZONE} A`,
].join('\n');

/** A dnsmasq configuration serving the same records authoritatively on 127.0.0.1:`port`. */
export function dnsmasqConfig(port: number, pidFile: string): string {
  const lines = [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'keep-in-foreground',
    `pid-file=${pidFile}`,
    `auth-server=ns1.${ZONE},127.0.0.1`,
    `auth-zone=${ZONE}`,
    `auth-soa=${SERIAL},hostmaster.${ZONE},3600,600,86400`,
    'auth-ttl=300',
    `host-record=sip.${ZONE},192.0.2.10,2001:db8::10,30`,
    `host-record=main.${ZONE},192.0.2.10,2001:db8::10`,
    `host-record=local.${ZONE},192.168.1.10`,
    `host-record=ns1.${ZONE},127.0.0.1`,
  ];
  const transports = [
    ['_sip._udp', 5060, 'SIP+D2U'],
    ['_sip._tcp', 5060, 'SIP+D2T'],
    ['_sips._tcp', 5061, 'SIPS+D2T'],
  ] as const;
  transports.forEach(([label, port, service], i) => {
    lines.push(`srv-host=${label}.sip.${ZONE},main.${ZONE},${port},10,10`);
    lines.push(`srv-host=${label}.sip.${ZONE},local.${ZONE},${port},20,10`);
    lines.push(`naptr-record=sip.${ZONE},${10 * (i + 1)},10,s,${service},,${label}.sip.${ZONE}`);
  });
  return `${lines.join('\n')}\n`;
}
