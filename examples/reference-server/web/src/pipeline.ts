import { getJson, postJson } from './api.js';
import { announce, formatBytes, formatTime, h, table } from './dom.js';

interface SinkReport {
  ok: boolean;
  state: string;
  since: string;
  depth: number;
  lagMs: number;
  consecutiveFailures: number;
  deadLetters: number;
  lastError?: { name: string; message: string; at?: string };
}
interface Snapshot {
  at: string;
  rates: { seconds: number; received: number[]; stored: Record<string, number[]> };
  totals: { received: number; stored: Record<string, number> };
  health: {
    status: string;
    problems: string[];
    cdrStore: { ok: boolean; state: string; latencyMs: number; delivery: SinkReport };
    sinks: Record<string, SinkReport>;
    spool: { ok: boolean; state: string; backlog: number; freeBytes?: number };
    storage: Tier[];
    archiver?: { running: boolean; scheduled: boolean; nextRunAt?: string; ok: boolean };
  };
  cdrArchive?: { days: Array<{ day: string; bytes: number }> };
  archiverRuns: Array<{
    startedAt: string;
    finishedAt: string;
    result: string;
    scanned: number;
    archived: number;
    failed: number;
    bytes: number;
    error?: string;
  }>;
  daemons?: Array<{
    name: string;
    url: string;
    ok: boolean;
    httpStatus?: number;
    status?: string;
    detail?: string;
    checkedAt: string;
  }>;
}
/** A storage tier's line of `/health`. */
type Tier = Record<'tier' | 'detail', string> &
  Record<'ok' | 'required', boolean> & { latencyMs: number; freeBytes?: number };

interface DeadLetter {
  id: string;
  uuid: string;
  leg?: string;
  deadAt: string;
  attempts: number;
  error: string;
}

const COLORS = ['#0b5cad', '#1d6b2f', '#8a5300', '#5b2a86'];
const REFRESH_MS = 2000;

/** Per-second counts as an SVG line plot (last 120 s). */
function plot(series: Array<{ name: string; values: number[]; color: string }>): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const width = 600;
  const height = 160;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'plot');
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  svg.setAttribute(
    'aria-label',
    `CDRs per second over the last ${series[0]?.values.length ?? 0} s; peak ${max}/s`,
  );
  for (const s of series) {
    const n = s.values.length;
    const points = s.values.map(
      (v, i) =>
        `${((i / Math.max(1, n - 1)) * width).toFixed(1)},${(height - 6 - (v / max) * (height - 16)).toFixed(1)}`,
    );
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', s.color);
    line.setAttribute('stroke-width', '2');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(line);
  }
  return svg;
}

const okText = (ok: boolean, text: string) => h('span', { class: ok ? 'ok' : 'bad' }, ok ? '● ' : '▲ ', text);

/** The pipeline page: live rates, each sink's queue, lag and dead letters (with re-push), spool, tiers, archiver. */
export function pipelineView(main: HTMLElement, signal: AbortSignal): void {
  const live = h('div', { id: 'pipeline-live' }, h('p', { class: 'muted' }, 'Loading…'));
  const dead = h('section', { id: 'dead-letters', 'aria-labelledby': 'dead-title' });
  main.replaceChildren(h('h1', {}, 'Pipeline'), live, dead, repushForm(signal));
  let openSink: string | undefined;

  const showDead = async (sink: string) => {
    openSink = sink;
    const list = await getJson<{ total: number; items: DeadLetter[] }>(
      `/api/pipeline/dead-letters/${encodeURIComponent(sink)}`,
      signal,
    );
    const replay = async (ids: string[] | undefined, button: HTMLButtonElement) => {
      button.disabled = true;
      try {
        const { replayed } = await postJson<{ replayed: number }>(
          `/api/pipeline/dead-letters/${encodeURIComponent(sink)}/replay`,
          ids ? { ids } : {},
        );
        announce(`${replayed} dead letter${replayed === 1 ? '' : 's'} queued again for ${sink}`);
        await showDead(sink);
      } catch (err) {
        announce(`Re-push failed: ${(err as Error).message}`);
        button.disabled = false;
      }
    };
    dead.replaceChildren(
      h('h2', { id: 'dead-title' }, `Dead letters of ${sink} (${list.total})`),
      list.items.length
        ? h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Dead since', 'Call', 'Attempts', 'Why', ''].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              list.items.map((d) => {
                const button: HTMLButtonElement = h(
                  'button',
                  { type: 'button', onclick: () => replay([d.id], button) },
                  'Re-push',
                );
                return h(
                  'tr',
                  {},
                  h('td', {}, formatTime(d.deadAt)),
                  h(
                    'td',
                    { class: 'mono' },
                    h('a', { href: `/calls/${d.uuid}` }, d.uuid),
                    d.leg ? ` (${d.leg.toUpperCase()})` : '',
                  ),
                  h('td', {}, String(d.attempts)),
                  h('td', { class: 'mono' }, d.error),
                  h('td', {}, button),
                );
              }),
            ),
          )
        : h('p', { class: 'ok', role: 'status' }, `No dead letters: ${sink} has every CDR.`),
      list.items.length > 1
        ? (() => {
            const all: HTMLButtonElement = h(
              'button',
              { type: 'button', class: 'secondary', onclick: () => replay(undefined, all) },
              'Re-push all',
            );
            return h('p', {}, all);
          })()
        : '',
    );
  };

  const refresh = async () => {
    if (signal.aborted) return;
    try {
      const snap = await getJson<Snapshot>('/api/pipeline', signal);
      live.replaceChildren(...renderSnapshot(snap, (sink) => void showDead(sink).catch(() => {})));
    } catch (err) {
      if (signal.aborted) return;
      live.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, `Pipeline unavailable: ${(err as Error).message}`),
      );
    }
    if (openSink) await showDead(openSink).catch(() => {});
    if (!signal.aborted) setTimeout(() => void refresh(), REFRESH_MS);
  };
  void refresh();
}

function renderSnapshot(snap: Snapshot, onDead: (sink: string) => void): Node[] {
  const last = (values: number[]) => values.slice(-120);
  const windowSum = (values: number[]) =>
    last(values)
      .slice(-10)
      .reduce((a, b) => a + b, 0) / 10;
  const series = [
    { name: 'received', values: last(snap.rates.received), color: COLORS[0] as string },
    ...Object.entries(snap.rates.stored).map(([sink, values], i) => ({
      name: `stored by ${sink}`,
      values: last(values),
      color: COLORS[(i + 1) % COLORS.length] as string,
    })),
  ];
  const h_ = snap.health;
  const sinks: Array<[string, SinkReport]> = [
    [Object.keys(snap.rates.stored)[0] ?? 'store', h_.cdrStore.delivery],
    ...Object.entries(h_.sinks),
  ];
  const card = (label: string, value: string, note?: Node | string) =>
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'muted' }, label),
      h('div', { class: 'big' }, value),
      note ? h('div', {}, note) : null,
    );
  return [
    h(
      'p',
      { role: 'status' },
      okText(h_.status !== 'down', `Status: ${h_.status}`),
      h_.problems.length
        ? h(
            'ul',
            {},
            h_.problems.map((p) => h('li', {}, p)),
          )
        : null,
    ),
    h(
      'div',
      { class: 'cards' },
      card(
        'Received (10 s average)',
        `${windowSum(snap.rates.received).toFixed(1)}/s`,
        `${snap.totals.received} since start`,
      ),
      ...Object.entries(snap.rates.stored).map(([sink, values]) =>
        card(
          `Stored by ${sink}`,
          `${windowSum(values).toFixed(1)}/s`,
          `${snap.totals.stored[sink] ?? 0} since start`,
        ),
      ),
      card(
        'Spool backlog',
        String(h_.spool.backlog),
        okText(
          h_.spool.ok,
          `${h_.spool.state}${h_.spool.freeBytes !== undefined ? `, ${formatBytes(h_.spool.freeBytes)} free` : ''}`,
        ),
      ),
      card('CDR store', `${h_.cdrStore.latencyMs} ms`, okText(h_.cdrStore.ok, h_.cdrStore.state)),
    ),
    h('h2', {}, 'CDRs per second (last 2 minutes)'),
    plot(series),
    h(
      'div',
      { class: 'legend' },
      series.map((s) => h('span', { style: `--c:${s.color}` }, s.name)),
    ),
    h('h2', {}, 'Sinks'),
    h(
      'table',
      { id: 'sinks' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Sink', 'State', 'Queue', 'Lag', 'Failures', 'Dead letters', 'Last error'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        sinks.map(([name, s]) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, name),
            h('td', {}, okText(s.state === 'up', `${s.state} since ${formatTime(s.since)}`)),
            h('td', {}, String(s.depth)),
            h('td', {}, `${(s.lagMs / 1000).toFixed(1)} s`),
            h('td', {}, String(s.consecutiveFailures)),
            h(
              'td',
              {},
              s.deadLetters
                ? h(
                    'button',
                    { type: 'button', class: 'secondary', onclick: () => onDead(name), 'data-sink': name },
                    `${s.deadLetters} — show`,
                  )
                : h(
                    'button',
                    { type: 'button', class: 'secondary', onclick: () => onDead(name), 'data-sink': name },
                    '0',
                  ),
            ),
            h('td', { class: 'mono' }, s.lastError ? `${s.lastError.name}: ${s.lastError.message}` : ''),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Recording storage'),
    h(
      'table',
      { id: 'tiers' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Tier', 'Health', 'Latency', 'Free'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        h_.storage.map((t) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, `${t.tier}${t.required ? '' : ' (optional)'}`),
            h('td', {}, okText(t.ok, t.detail)),
            h('td', {}, `${t.latencyMs} ms`),
            h('td', {}, formatBytes(t.freeBytes)),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Archiver runs'),
    h_.archiver
      ? h(
          'p',
          {},
          okText(
            h_.archiver.ok,
            h_.archiver.running
              ? 'running now'
              : h_.archiver.nextRunAt
                ? `next run ${formatTime(h_.archiver.nextRunAt)}`
                : 'idle',
          ),
        )
      : h('p', { class: 'muted' }, 'No archiver configured (PBXKIT_STORAGE_ARCHIVE_JOURNAL).'),
    snap.archiverRuns.length
      ? h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Finished', 'Result', 'Scanned', 'Archived', 'Failed', 'Bytes'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            snap.archiverRuns.map((r) =>
              h(
                'tr',
                {},
                h('td', {}, formatTime(r.finishedAt)),
                h('td', {}, okText(r.result === 'ok', r.error ? `${r.result}: ${r.error}` : r.result)),
                h('td', {}, String(r.scanned)),
                h('td', {}, String(r.archived)),
                h('td', {}, String(r.failed)),
                h('td', {}, formatBytes(r.bytes)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No archiver run yet.'),
    h('h2', {}, 'CDR archive'),
    snap.cdrArchive
      ? h(
          'p',
          {},
          `${snap.cdrArchive.days.length} days kept, ${formatBytes(snap.cdrArchive.days.reduce((a, d) => a + d.bytes, 0))}: ${snap.cdrArchive.days.map((d) => d.day).join(', ')}`,
        )
      : h('p', { class: 'muted' }, 'No CDR archive (PBXKIT_CDR_ARCHIVE_DAYS=0).'),
    h('h2', {}, 'Daemons'),
    snap.daemons?.length
      ? table(
          { id: 'daemons' },
          ['Daemon', 'State', 'Detail', 'Health URL', 'Checked'],
          snap.daemons.map((d) => [
            d.name,
            okText(d.ok, d.status ?? (d.httpStatus ? `HTTP ${d.httpStatus}` : 'unreachable')),
            d.detail ?? '',
            d.url,
            formatTime(d.checkedAt),
          ]),
        )
      : h(
          'p',
          { class: 'muted' },
          'No daemons configured (PBXKIT_CONSOLE_DAEMONS: branch-failover and freeswitch-config-sync health URLs).',
        ),
  ];
}

function repushForm(signal: AbortSignal): HTMLElement {
  const result = h('p', { role: 'status' });
  const form = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'repush-title' },
    h('label', {}, 'Received from', h('input', { type: 'datetime-local', name: 'from', required: true })),
    h('label', {}, 'to', h('input', { type: 'datetime-local', name: 'to' })),
    h('label', {}, 'Sink', h('input', { name: 'sink', value: 'postgres', required: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Re-push from the archive')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const iso = (name: string) => {
      const v = String(data.get(name) ?? '');
      return v ? new Date(v).toISOString() : undefined;
    };
    result.textContent = 'Re-pushing…';
    postJson<{ total: number; done: number; failed: unknown[] }>('/api/pipeline/repush', {
      from: iso('from'),
      to: iso('to'),
      sink: String(data.get('sink')),
    }).then(
      (s) => {
        if (!signal.aborted)
          result.textContent = `${s.done} of ${s.total} archived CDRs queued again, ${s.failed.length} failed.`;
      },
      (err: Error) => {
        if (!signal.aborted) result.textContent = `Re-push failed: ${err.message}`;
      },
    );
  });
  return h(
    'section',
    {},
    h('h2', { id: 'repush-title' }, 'Re-push archived CDRs to a sink'),
    h(
      'p',
      { class: 'muted' },
      'For a sink that lost CDRs it had stored (a database restored from an older backup, a CCP that dropped a day).',
    ),
    form,
    result,
  );
}
