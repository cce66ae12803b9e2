/** What a worker prints on its last stdout line, after this prefix, as JSON. */
export const RESULT_PREFIX = '@@bench-result ';

export type ParseSide = 'pbxkit-full' | 'pbxkit-map' | 'pbxkit-lazy' | 'json-floor' | 'modesl';
export type ApiSide = 'pbxkit' | 'modesl' | 'modesl-nodelay' | 'floor';
export type ParseScenario = 'plain' | 'json';
export type ApiScenario = 'api-seq' | 'api-pipe';

/** One measured run of one side of one scenario, in its own process. */
export interface WorkerResult {
  scenario: ParseScenario | ApiScenario;
  side: ParseSide | ApiSide;
  /** Events parsed, or api calls answered, during the measurement (warm-up excluded). */
  ops: number;
  elapsedMs: number;
  /** ops per second of the best round (the least disturbed by other processes of the machine). */
  rate: number;
  /** ops per second of each round, in order. */
  rounds: number[];
  /** Median of `rounds`. */
  medianRate: number;
  /** CPU time (user + system) of this process during the measured rounds, in microseconds per op. */
  cpuMicrosPerOp: number;
  /** RSS once modules were loaded, before any work (KiB). */
  idleRssKiB: number;
  /** Peak RSS of the process, `process.resourceUsage().maxRSS` (KiB). */
  maxRssKiB: number;
  /** Parse: sum of the lengths of the header values read (same bytes must give the same sum on both sides). */
  checksum?: number;
  /** Parse, modesl: the same sum over Event-Name only, to check the lazy pbxkit run. */
  checksumName?: number;
  /** Api: replies whose body was not the id sent with that call. */
  misrouted?: number;
  /** Api: up to 5 examples of misrouted replies. */
  misroutedExamples?: Array<{ sent: string; got: string }>;
  /** Api: the time budget ran out before all calls were made (the rate is still over the calls made). */
  capped?: boolean;
  /** Api: replies stopped coming (some callback was never called); the run was abandoned. */
  stalled?: boolean;
  /** Api: every call answered, warm-up included (the calls `misrouted` counts over). */
  answered?: number;
  /** Api: calls wanted (ops may be fewer when capped or stalled). */
  wanted?: number;
  /** Api: calls in flight at once. */
  window?: number;
  /** Api, filled in by run.ts: CPU of the FakeFreeSwitch process (run.ts itself) per call, warm-up included. */
  serverCpuMicrosPerOp?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
