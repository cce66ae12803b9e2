import { getJson, getText, type Row } from './api.js';
import { formatDuration, formatTime, h, section, statusBadge, table } from './dom.js';
import { recordingPlayer } from './player.js';

interface CallDetail {
  row: Record<string, string | number | boolean | null>;
  legs: Row[];
  hangup: {
    cause: string | null;
    q850: number | null;
    disposition: string | null;
    by: string;
    explanation: string;
  };
  timeline: Array<{ at: string; us: number; kind: string; label: string; detail?: string }>;
  variables: Record<string, string>;
  raw: string | undefined;
  recording: { url: string; name: string | null; lengthSeconds: number | null } | undefined;
}

/** The call page: one leg, the legs linked to it, what happened and when, who hung up, the recording. */
export function callView(main: HTMLElement, uuid: string, signal: AbortSignal): void {
  main.replaceChildren(h('h1', {}, 'Call'), h('p', { class: 'muted' }, 'Loading…'));
  getJson<CallDetail>(`/api/calls/${encodeURIComponent(uuid)}`, signal).then(
    (call) => render(main, uuid, call, signal),
    (err: Error) => {
      if (!signal.aborted)
        main.replaceChildren(h('h1', {}, 'Call'), h('p', { class: 'error', role: 'alert' }, err.message));
    },
  );
}

function render(main: HTMLElement, uuid: string, call: CallDetail, signal: AbortSignal): void {
  const r = call.row;
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const fact = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  const facts = h(
    'dl',
    { class: 'facts' },
    fact('Leg', `${text(r.leg).toUpperCase()} · ${text(r.direction)}`),
    fact('From', `${text(r.caller_id_name)} ${text(r.caller_id_number)}`.trim()),
    fact('To', text(r.destination_number)),
    fact('Domain', text(r.domain_name)),
    fact('Started', formatTime(r.start_stamp as string)),
    fact('Answered', formatTime(r.answer_stamp as string) || 'not answered'),
    fact('Ended', formatTime(r.end_stamp as string)),
    fact('Duration', formatDuration(Number(r.duration))),
    fact('Status', statusBadge(r.status as string)),
    fact('Codec', `${text(r.read_codec)} ${text(r.read_rate)}`.trim()),
    fact('Uuid', h('span', { class: 'mono' }, uuid)),
  );
  const hangup = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'hangup-title' },
    h('h2', { id: 'hangup-title' }, 'Hangup'),
    h('p', { id: 'hangup-by' }, h('strong', {}, call.hangup.explanation)),
    h(
      'dl',
      { class: 'facts' },
      fact(
        'Cause',
        h(
          'span',
          { class: 'mono' },
          `${call.hangup.cause ?? 'unknown'}${call.hangup.q850 !== null ? ` (Q.850 ${call.hangup.q850})` : ''}`,
        ),
      ),
      fact('SIP disposition', h('span', { class: 'mono' }, call.hangup.disposition ?? 'unknown')),
      fact('Hung up by', call.hangup.by),
    ),
  );
  const relation = (l: Row) =>
    l.originating_leg_uuid === uuid
      ? 'originated by this leg'
      : l.xml_cdr_uuid === r.bridge_uuid
        ? 'bridged to'
        : l.xml_cdr_uuid === r.originating_leg_uuid
          ? 'originating leg'
          : 'linked';
  const legs = section(
    'legs-title',
    'Other legs of this call',
    call.legs.length
      ? table(
          { id: 'legs' },
          ['Leg', 'Start', 'From', 'To', 'Duration', 'Status', 'Link'],
          call.legs.map((l) => [
            h('a', { href: `/calls/${l.xml_cdr_uuid}` }, `${(l.leg ?? '').toUpperCase()} leg`),
            formatTime(l.start_stamp),
            l.caller_id_number ?? '',
            l.destination_number ?? '',
            formatDuration(l.duration),
            statusBadge(l.status),
            relation(l),
          ]),
        )
      : h('p', { class: 'muted' }, 'No other leg is stored for this call.'),
  );
  const timeline = section(
    'timeline-title',
    'Callflow',
    call.timeline.length
      ? h(
          'ol',
          { class: 'timeline', id: 'timeline' },
          call.timeline.map((e) =>
            h(
              'li',
              { class: `k-${e.kind}` },
              h(
                'time',
                { datetime: e.at, class: 'mono' },
                formatTime(e.at).slice(11),
                `.${String(Math.floor((e.us / 1000) % 1000)).padStart(3, '0')}`,
              ),
              ' ',
              h('strong', {}, e.label),
              e.detail ? h('span', { class: 'mono muted' }, ` ${e.detail}`) : null,
            ),
          ),
        )
      : h(
          'p',
          { class: 'muted' },
          'Only FusionPBX’s JSON copy of this CDR is left: it has no callflow times.',
        ),
  );
  main.replaceChildren(
    h('h1', {}, `Call ${text(r.caller_id_number)} → ${text(r.destination_number)}`),
    call.recording
      ? recordingPlayer(call.recording.url, call.recording.name, signal)
      : h('p', { class: 'muted' }, 'No recording for this leg.'),
    h(
      'div',
      { class: 'grid2' },
      h('section', { 'aria-label': 'Summary' }, h('h2', {}, 'Summary'), facts),
      hangup,
    ),
    legs,
    timeline,
    variablesSection(call.variables),
    rawSection(uuid, call.raw),
  );
}

function variablesSection(variables: Record<string, string>): HTMLElement {
  const names = Object.keys(variables).sort();
  const body = h('tbody', {});
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const fill = (filter: string) => {
    const f = filter.toLowerCase();
    const shown = names.filter(
      (n) => !f || n.toLowerCase().includes(f) || (variables[n] ?? '').toLowerCase().includes(f),
    );
    body.replaceChildren(
      ...shown
        .slice(0, 500)
        .map((n) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row', class: 'mono' }, n),
            h('td', { class: 'mono' }, variables[n] ?? ''),
          ),
        ),
    );
    count.textContent = `${shown.length} of ${names.length}`;
  };
  const input = h('input', {
    type: 'search',
    id: 'variables-filter',
    placeholder: 'name or value',
    oninput: (e: Event) => fill((e.target as HTMLInputElement).value),
  });
  fill('');
  return h(
    'section',
    { 'aria-labelledby': 'vars-title' },
    h('h2', { id: 'vars-title' }, 'Variables'),
    h(
      'label',
      { for: 'variables-filter', style: 'flex-direction:row;gap:.6rem;align-items:center' },
      'Filter',
      input,
      count,
    ),
    h(
      'table',
      { id: 'variables' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
      body,
    ),
  );
}

function rawSection(uuid: string, source: string | undefined): HTMLElement {
  if (!source)
    return h(
      'section',
      {},
      h('h2', {}, 'Raw CDR'),
      h('p', { class: 'muted' }, 'Not in the CDR archive nor in the database.'),
    );
  const pre = h('pre', { class: 'raw mono', tabindex: 0 }, 'Loading…');
  const details = h(
    'details',
    {},
    h(
      'summary',
      {},
      `Raw CDR (${source === 'json' ? 'FusionPBX JSON' : `XML from the ${source === 'archive' ? 'CDR archive' : 'database'}`})`,
    ),
    pre,
  );
  let loaded = false;
  details.addEventListener('toggle', () => {
    if (!details.open || loaded) return;
    loaded = true;
    getText(`/api/calls/${encodeURIComponent(uuid)}/raw`).then(
      (t) => {
        pre.textContent = t;
      },
      (err: Error) => {
        pre.textContent = err.message;
      },
    );
  });
  return h(
    'section',
    { 'aria-label': 'Raw CDR' },
    h('h2', {}, 'Raw CDR'),
    details,
    h('p', {}, h('a', { href: `/api/calls/${uuid}/raw`, download: '' }, 'Download the raw CDR')),
  );
}
