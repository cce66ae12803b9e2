/**
 * One DNS server of the benchmark, in its own process: `pbxkit` (DnsResponder) or `dns2` (dns2's own UDP
 * server answering from the same records, the straightforward way: parse each query, build each answer).
 * Prints `READY <port>` once listening; stops on SIGTERM.
 */
import dns2 from 'dns2';
import { resolveZoneConfig } from '../src/dns/options.js';
import { ZoneSnapshot } from '../src/dns/zone.js';
import { DnsResponder, resolveLogger } from '../src/index.js';
import { BENCH_ZONE, SERIAL } from './bench-zone.js';

const impl = process.argv[2];
const log = resolveLogger(undefined);

async function startPbxkit(): Promise<{ port: number; stop: () => Promise<void> }> {
  const responder = new DnsResponder({
    ...BENCH_ZONE,
    listen: { address: '127.0.0.1', port: 0 },
    logger: log,
  });
  await responder.start();
  return { port: responder.address()?.port as number, stop: () => responder.stop() };
}

async function startDns2(): Promise<{ port: number; stop: () => Promise<void> }> {
  const { Packet } = dns2;
  const config = resolveZoneConfig(BENCH_ZONE);
  const records = new ZoneSnapshot(config, config.targets.normal, SERIAL).records();
  const byNameType = new Map<string, ReturnType<typeof records.get>>();
  for (const [name, rrs] of records) {
    for (const rr of rrs)
      byNameType.set(
        `${name}|${rr.type}`,
        rrs.filter((r) => r.type === rr.type),
      );
  }
  const soa = records.get(config.zone)?.find((r) => r.type === Packet.TYPE.SOA);
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const question = request.questions[0];
      if (question) {
        const name = question.name.toLowerCase();
        const answers = byNameType.get(`${name}|${question.type}`);
        if (answers) response.answers = answers;
        else {
          if (!records.has(name)) response.header.rcode = Packet.RCODE.NXDOMAIN;
          if (soa) response.authorities = [soa];
        }
      }
      send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  return { port: addresses.udp?.port as number, stop: () => server.close() };
}

const server = impl === 'dns2' ? await startDns2() : await startPbxkit();
process.stdout.write(`READY ${server.port}\n`);
process.on('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0));
});
