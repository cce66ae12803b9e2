import { getJson, type Row } from './api.js';
import { announce, formatDuration, formatTime, h, statusBadge } from './dom.js';

const STATUSES = ['answered', 'missed', 'failed', 'voicemail'] as const;
const FIELDS = [
  'from',
  'to',
  'caller',
  'destination',
  'uuid',
  'domain',
  'direction',
  'minDuration',
  'maxDuration',
];

/** ISO time → the value of a `datetime-local` input (the browser's time zone). */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** The search page: the filters (kept in the URL, so a search is a link), results, pages, CSV export. */
export function searchView(
  main: HTMLElement,
  url: URL,
  navigate: (to: string) => void,
  signal: AbortSignal,
): void {
  const params = url.searchParams;
  const field = (name: string, label: string, attrs: Record<string, unknown> = {}) =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', ...attrs }));
  const chosen = new Set(params.getAll('status').flatMap((s) => s.split(',')));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search calls' },
    h(
      'label',
      {},
      'From',
      h('input', { type: 'datetime-local', name: 'from', value: toLocalInput(params.get('from')) }),
    ),
    h(
      'label',
      {},
      'To',
      h('input', { type: 'datetime-local', name: 'to', value: toLocalInput(params.get('to')) }),
    ),
    field('caller', 'Caller number starts with', { inputmode: 'tel', autocomplete: 'off' }),
    field('destination', 'Destination starts with', { inputmode: 'tel', autocomplete: 'off' }),
    field('uuid', 'Call uuid', { autocomplete: 'off', spellcheck: 'false' }),
    field('domain', 'Domain'),
    h(
      'label',
      {},
      'Direction',
      h(
        'select',
        { name: 'direction' },
        ['', 'inbound', 'outbound', 'local'].map((d) =>
          h('option', { value: d, selected: (params.get('direction') ?? '') === d }, d || 'any'),
        ),
      ),
    ),
    field('minDuration', 'Min duration (s)', { type: 'number', min: 0 }),
    field('maxDuration', 'Max duration (s)', { type: 'number', min: 0 }),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Status'),
      STATUSES.map((s) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name: 'status', value: s, checked: chosen.has(s) }),
          ` ${s}`,
        ),
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/search') }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of FIELDS) {
      const value = String(data.get(name) ?? '').trim();
      if (!value) continue;
      next.set(name, name === 'from' || name === 'to' ? new Date(value).toISOString() : value);
    }
    const statuses = data.getAll('status').map(String);
    if (statuses.length) next.set('status', statuses.join(','));
    for (const keep of ['sort', 'order']) if (params.get(keep)) next.set(keep, params.get(keep) as string);
    navigate(`/search${next.size ? `?${next}` : ''}`);
  });

  const results = h(
    'section',
    { 'aria-labelledby': 'results-title' },
    h('p', { class: 'muted' }, 'Searching…'),
  );
  main.replaceChildren(h('h1', {}, 'Calls'), form, results);

  const query = new URLSearchParams(params);
  getJson<{ rows: Row[]; next?: string; tookMs: number }>(`/api/cdrs?${query}`, signal).then(
    (page) => {
      results.replaceChildren(...resultsTable(page, params, navigate));
      announce(`${page.rows.length} calls${page.next ? ', more on the next page' : ''}`);
    },
    (err: Error) => {
      if (signal.aborted) return;
      results.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Search failed: ${err.message}`));
    },
  );
}

function resultsTable(
  page: { rows: Row[]; next?: string; tookMs: number },
  params: URLSearchParams,
  navigate: (to: string) => void,
): Node[] {
  const sort = params.get('sort') ?? 'start';
  const order = params.get('order') ?? 'desc';
  const sortHeader = (key: string, label: string) => {
    const active = sort === key;
    const nextOrder = active && order === 'desc' ? 'asc' : 'desc';
    const link = new URLSearchParams(params);
    link.delete('after');
    link.set('sort', key);
    link.set('order', nextOrder);
    return h(
      'th',
      { scope: 'col', 'aria-sort': active ? (order === 'desc' ? 'descending' : 'ascending') : 'none' },
      h(
        'button',
        { type: 'button', class: 'sort', onclick: () => navigate(`/search?${link}`) },
        label,
        active ? (order === 'desc' ? ' ▼' : ' ▲') : '',
      ),
    );
  };
  const csv = new URLSearchParams(params);
  csv.delete('after');
  csv.delete('limit');
  const first = new URLSearchParams(params);
  first.delete('after');
  const next = new URLSearchParams(params);
  if (page.next) next.set('after', page.next);
  const table = h(
    'table',
    {},
    h(
      'caption',
      { id: 'results-title' },
      `${page.rows.length} calls`,
      h('span', { class: 'muted' }, ` · ${page.tookMs.toFixed(1)} ms in the database`),
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        sortHeader('start', 'Start'),
        h('th', { scope: 'col' }, 'Direction'),
        h('th', { scope: 'col' }, 'From'),
        h('th', { scope: 'col' }, 'To'),
        h('th', { scope: 'col' }, 'Domain'),
        sortHeader('duration', 'Duration'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Hangup cause'),
        h('th', { scope: 'col' }, 'Leg'),
        h(
          'th',
          { scope: 'col' },
          h('span', { 'aria-hidden': 'true' }, '🎧'),
          h('span', { class: 'visually-hidden' }, 'Recording'),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      page.rows.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `/calls/${r.xml_cdr_uuid}` }, formatTime(r.start_stamp))),
          h('td', {}, r.direction ?? ''),
          h(
            'td',
            {},
            r.caller_id_number ?? '',
            r.caller_id_name ? h('div', { class: 'muted' }, r.caller_id_name) : null,
          ),
          h('td', {}, r.destination_number ?? ''),
          h('td', {}, r.domain_name ?? ''),
          h('td', {}, formatDuration(r.duration)),
          h('td', {}, statusBadge(r.status)),
          h('td', { class: 'mono' }, r.hangup_cause ?? ''),
          h('td', {}, (r.leg ?? '').toUpperCase()),
          h(
            'td',
            {},
            r.record_name
              ? h('span', { title: 'recorded' }, '●', h('span', { class: 'visually-hidden' }, 'recorded'))
              : '',
          ),
        ),
      ),
    ),
  );
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    params.get('after')
      ? h('a', { class: 'button secondary', href: `/search?${first}` }, 'First page')
      : null,
    page.next
      ? h('a', { class: 'button', href: `/search?${next}`, rel: 'next' }, 'Next page')
      : h('span', { class: 'muted' }, 'End of results'),
    h('a', { class: 'button secondary', href: `/api/cdrs.csv?${csv}`, download: '' }, 'Export CSV'),
  );
  return page.rows.length ? [table, pager] : [h('p', {}, 'No call matches.'), pager];
}
