/**
 * Runs Debian's `dig` against a DNS server on loopback and reads its answer: what a resolver on a handset or a
 * PBX would get.
 */
import { execFile } from 'node:child_process';
import { testDig } from '../../../scripts/test-env.js';

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigAnswer {
  status: string;
  /** Header flags as dig prints them: qr, aa, tc, rd, ra. */
  flags: string[];
  /** The OPT pseudo-section (`version: 0, flags: do; udp: 1232`), undefined without EDNS. */
  edns: string | undefined;
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** The transport dig used in the end (`UDP` or `TCP`: dig retries over TCP on TC unless `+ignore`). */
  transport: string | undefined;
  raw: string;
}

const SECTIONS = { ANSWER: 'answer', AUTHORITY: 'authority', ADDITIONAL: 'additional' } as const;

/** `dig @127.0.0.1 -p <port> <args…>`; one try, so a dropped query shows as a timeout instead of a retry. */
export function dig(port: number, ...args: string[]): Promise<DigAnswer> {
  return new Promise((resolve, reject) => {
    execFile(
      testDig(),
      ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=5', ...args],
      { timeout: 20_000 },
      (err, stdout) => {
        if (err && !stdout) reject(err);
        else resolve(parseDig(stdout));
      },
    );
  });
}

function parseDig(raw: string): DigAnswer {
  const result: DigAnswer = {
    status: /status: (\w+)/.exec(raw)?.[1] ?? 'NO-ANSWER',
    flags: (/;; flags: ([^;]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
    edns: /; EDNS: (.*)/.exec(raw)?.[1],
    answer: [],
    authority: [],
    additional: [],
    transport: /;; SERVER: .*\((\w+)\)/.exec(raw)?.[1],
    raw,
  };
  let section: DigRecord[] | undefined;
  for (const line of raw.split('\n')) {
    const header = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (header) {
      section = result[SECTIONS[header[1] as keyof typeof SECTIONS]];
      continue;
    }
    if (!line.trim() || line.startsWith(';')) {
      if (!line.trim()) section = undefined;
      continue;
    }
    const fields = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (section && fields) {
      section.push({
        name: fields[1] as string,
        ttl: Number(fields[2]),
        type: fields[3] as string,
        data: (fields[4] as string).trim(),
      });
    }
  }
  return result;
}

/** The `data` of the records of `type` in a section, sorted (dig's order is the server's). */
export function dataOf(records: DigRecord[], type: string): string[] {
  return records
    .filter((r) => r.type === type)
    .map((r) => r.data)
    .sort();
}
