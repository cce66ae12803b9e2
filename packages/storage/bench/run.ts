/**
 * `pnpm --filter @pbxkit/storage bench`: side by side in one run, on a 100 MB recording in the page cache:
 *   - the recordings handler vs a default `fs.createReadStream().pipe(res)` Node server (ratio; goal >= 2x), and
 *     vs a minimal loop over `fs.ReadStream` with 1 MiB reads (what its pooled reads replace)
 *   - a download through a peer vs a direct one (ratio; goal >= 0.8x), and vs a relay with Node's http client
 *     (what the raw peer reader replaces)
 *   - the CPU time each download cost each process (servers, peer, client): on a small machine the processes
 *     share the cores, so the CPU a path needs bounds its throughput
 *   - Range request latency (p50/p99 of 64 KiB ranges at random offsets)
 *   - archiver throughput to S3, when an S3 server is configured (PBXKIT_TEST_S3_* as set by
 *     scripts/with-test-services.sh): `bash scripts/with-test-services.sh pnpm --filter @pbxkit/storage bench`
 * Each server runs in a child process of its own (bench/servers.ts), so that none pays for another's garbage
 * collection; the client runs here. BENCH_MB (default 100) and BENCH_ROUNDS (default 5) adjust it.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const MB = Number(process.env.BENCH_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MiB = 1024 * 1024;

/**
 * GET over a raw TCP socket, counting bytes without parsing the body (so the client costs as little as possible
 * and the servers are what is measured). Resolves when headers + Content-Length bytes arrived.
 */
function download(url: string, headers: Record<string, string> = {}): Promise<{ bytes: number; ms: number }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(port), hostname);
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${extra}\r\n`);
    let head = Buffer.alloc(0);
    let bodyBytes = -1;
    let expected = 0;
    socket.on('data', (chunk: Buffer) => {
      if (bodyBytes < 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        expected = Number(
          /content-length:\s*(\d+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0,
        );
        bodyBytes = head.length - end - 4;
      } else bodyBytes += chunk.length;
      if (bodyBytes >= expected) {
        socket.destroy();
        resolvePromise({ bytes: bodyBytes, ms: performance.now() - started });
      }
    });
    socket.on('error', reject);
  });
}

/** CPU time (ms, user + system) a server process has used so far, from its `cpu` endpoint. */
function cpuMs(url: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c;
        });
        res.on('end', () => {
          const { user, system } = JSON.parse(text) as NodeJS.CpuUsage;
          resolvePromise((user + system) / 1000);
        });
      })
      .on('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;

const dir = await mkdtemp(join(tmpdir(), 'pbxkit-storage-bench-'));
try {
  const file = join(dir, 'rec', 'recording.wav');
  await mkdir(dirname(file));
  const fh = await open(file, 'w');
  const block = randomBytes(MiB);
  for (let i = 0; i < MB; i++) await fh.write(block);
  await fh.close();
  await readFile(file); // into the page cache
  const size = MB * MiB;

  const start = async (role: string, env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers.ts')], {
      cwd: resolve(here, '..'),
      env: {
        ...process.env,
        BENCH_FILE: file,
        BENCH_ROLE: role,
        TSX_TSCONFIG_PATH: join(here, 'tsconfig.json'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((ok) => createInterface({ input: child.stdout }).once('line', ok));
    return { child, ...(JSON.parse(line) as { url: string; cpu: string }) };
  };
  // Each server in a process of its own; the peer first (the front and the http.get relay need its URL).
  const peer = await start('peer');
  const names = ['plain', 'raw', 'handler', 'front', 'nodeHttp'] as const;
  type Name = (typeof names)[number];
  const servers = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await start(n, { BENCH_PEER_URL: peer.url })] as const)),
  ) as Record<Name, Awaited<ReturnType<typeof start>>>;
  try {
    const results = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
    /** CPU ms per download, per process: the server that answered, the peer, this client. */
    const cpu = Object.fromEntries(
      names.map((n) => [n, { server: [] as number[], peer: [] as number[], client: [] as number[] }]),
    ) as Record<Name, Record<'server' | 'peer' | 'client', number[]>>;
    for (const name of names) await download(`${servers[name].url}/recordings/x`); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names) {
        const [server0, peer0] = [await cpuMs(servers[name].cpu), await cpuMs(peer.cpu)];
        const client0 = process.cpuUsage();
        const r = await download(`${servers[name].url}/recordings/x`);
        const client = process.cpuUsage(client0);
        if (r.bytes !== size) throw new Error(`${name}: got ${r.bytes} of ${size} bytes`);
        results[name].push(size / MiB / (r.ms / 1000));
        cpu[name].client.push((client.user + client.system) / 1000);
        cpu[name].server.push((await cpuMs(servers[name].cpu)) - server0);
        cpu[name].peer.push((await cpuMs(peer.cpu)) - peer0);
      }
    }
    const mbs = Object.fromEntries(names.map((n) => [n, median(results[n])])) as Record<Name, number>;
    const ms = (name: Name, who: 'server' | 'peer' | 'client') => median(cpu[name][who]).toFixed(0);
    const line = (label: string, name: Name, viaPeer = false) =>
      console.log(
        `  ${label.padEnd(52)} ${mbs[name].toFixed(0).padStart(5)}   ${
          viaPeer
            ? `front ${ms(name, 'server')} + peer ${ms(name, 'peer')} + client ${ms(name, 'client')}`
            : `server ${ms(name, 'server')} + client ${ms(name, 'client')}`
        }`,
      );
    console.log(
      `\n${MB} MiB recording in the page cache, ${ROUNDS} rounds, medians of throughput (MiB/s) and of the CPU time (ms) each download cost each process:`,
    );
    line('fs.createReadStream().pipe(res) (Node defaults)', 'plain');
    line('fs.ReadStream, 1 MiB reads, write loop', 'raw');
    line('createRecordingsHandler (LocalFsBackend)', 'handler');
    line('through a peer (PeerProxyBackend → peer handler)', 'front', true);
    line('through a peer with http.get(peer).pipe(res)', 'nodeHttp', true);
    const ratio = (a: Name, b: Name) => (mbs[a] / mbs[b]).toFixed(2);
    console.log(`  ratio handler / default pipe: ${ratio('handler', 'plain')}x  (goal >= 2x)`);
    console.log(`  ratio handler / ReadStream 1 MiB loop: ${ratio('handler', 'raw')}x`);
    console.log(`  ratio peer / direct:           ${ratio('front', 'handler')}x  (goal >= 0.8x)`);
    console.log(`  ratio peer / http.get relay:   ${ratio('front', 'nodeHttp')}x`);
    const total = (name: Name) =>
      median(cpu[name].server) + median(cpu[name].peer) + median(cpu[name].client);
    console.log(
      `  CPU of all processes per download: direct ${total('handler').toFixed(0)} ms, through the peer ${total('front').toFixed(0)} ms (${(total('front') / total('handler')).toFixed(2)}x)`,
    );

    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      const start = Math.floor(Math.random() * (size - 65536));
      const r = await download(`${servers.handler.url}/recordings/x`, {
        Range: `bytes=${start}-${start + 65535}`,
      });
      if (r.bytes !== 65536) throw new Error(`range: got ${r.bytes} bytes`);
      latencies.push(r.ms);
    }
    console.log(
      `  Range 64 KiB at random offsets (new connection each): p50 ${pct(latencies, 0.5).toFixed(2)} ms, p99 ${pct(latencies, 0.99).toFixed(2)} ms`,
    );
  } finally {
    for (const server of [peer, ...Object.values(servers)]) server.child.kill();
  }

  const endpoint = process.env.PBXKIT_TEST_S3_ENDPOINT;
  if (endpoint) {
    // Loaded only now: with the AWS SDK in its heap, the client spent more CPU in major collections (set off by
    // the downloads' buffers) than in reading, and the faster servers were measured against a slow client.
    const { Archiver, LocalFsBackend, S3Backend } = await import('../src/index.js');
    const s3Bucket = `pbxkit-bench-${Date.now().toString(36)}`;
    const s3 = new S3Backend({
      endpoint,
      bucket: s3Bucket,
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.PBXKIT_TEST_S3_ACCESS_KEY as string,
        secretAccessKey: process.env.PBXKIT_TEST_S3_SECRET_KEY as string,
      },
    });
    await s3.ensureBucket();
    try {
      const src = join(dir, 'archive-src');
      await mkdir(src);
      const local = new LocalFsBackend({ root: src });
      const files = 20;
      const each = 5 * MiB;
      for (let i = 0; i < files; i++) {
        const uuid = createHash('md5').update(String(i)).digest('hex');
        const id = `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-4${uuid.slice(13, 16)}-8${uuid.slice(17, 20)}-${uuid.slice(20, 32)}`;
        await local.write(`d/${id}.wav`, randomBytes(each));
      }
      for (const verify of ['metadata', 'read-back'] as const) {
        const archiver = new Archiver({
          source: local,
          target: s3,
          journalPath: join(dir, `journal-${verify}`),
          targetKey: (key) => `${verify}/${key}`, // fresh keys: each mode really uploads
          olderThanDays: 0,
          minFileAgeMs: 0,
          deleteAfterVerify: false,
          verify,
          concurrency: 4,
        });
        const started = performance.now();
        const report = await archiver.run();
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `  archiver to S3 (${endpoint}), ${report.archived} x ${each / MiB} MiB, verify ${verify}: ${(report.bytes / MiB / seconds).toFixed(1)} MiB/s`,
        );
      }
    } finally {
      // The test gateway keeps objects in memory (2 GiB): every run left 200 MiB behind and filled it in ten.
      for (const prefix of ['metadata/', 'read-back/']) {
        for (const item of (await s3.list(prefix, { limit: 10_000 })).items) await s3.delete(item.key);
      }
      const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
      await s3.client.send(new DeleteBucketCommand({ Bucket: s3Bucket }));
      s3.close();
    }
  } else {
    console.log(
      '  archiver to S3: skipped (no PBXKIT_TEST_S3_ENDPOINT; run through scripts/with-test-services.sh)',
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
