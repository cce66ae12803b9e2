import { fixture } from '../../../scripts/test-env.js';

/** The rows of mod_cdr_pg_csv's `cdr` table in the real pg_dump (`COPY ... FROM stdin` block), by column. */
export function pgDumpRows(): Array<Record<string, string | null>> {
  const dump = fixture('fs-modules', 'cdr_pg_csv', 'cdr-table.pg_dump.sql').toString('utf8');
  const copy = /^COPY public\.cdr \(([^)]*)\) FROM stdin;\n([\s\S]*?)\n\\\.$/m.exec(dump);
  if (!copy) throw new Error('no COPY block in the pg_dump fixture');
  const columns = (copy[1] as string).split(', ');
  return (copy[2] as string).split('\n').map((line) => {
    const values = line.split('\t');
    return Object.fromEntries(columns.map((c, i) => [c, values[i] === '\\N' ? null : (values[i] as string)]));
  });
}

/**
 * A line as mod_cdr_csv's `example` template writes it, from a row of the pg_csv table captured in the same
 * session (same calls, same values): how a second node's Master.csv looks.
 */
export function exampleLine(row: Record<string, string | null>): string {
  const stamp = (v: string | null) => (v ? v.replace(/\+00$/, '') : '');
  const fields = [
    row.caller_id_name,
    row.caller_id_number,
    row.destination_number,
    row.context,
    stamp(row.start_stamp ?? null),
    stamp(row.answer_stamp ?? null),
    stamp(row.end_stamp ?? null),
    row.duration,
    row.billsec,
    row.hangup_cause,
    row.uuid,
    row.bleg_uuid,
    row.accountcode,
    row.read_codec,
    row.write_codec,
  ];
  return `${fields.map((f) => `"${f ?? ''}"`).join(',')}\n`;
}
