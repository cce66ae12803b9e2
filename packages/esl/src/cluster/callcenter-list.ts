import { EslProtocolError } from '../errors.js';

/**
 * The rows of a `callcenter_config ... list` answer: a `|`-separated header line, one line per row, then a
 * `+OK` line inside the body (captured from FreeSWITCH 1.10, `fixtures/fs-modules/esl/52-*`). An empty list is
 * `+OK` alone: mod_callcenter prints the header line with the first row. A value with a `|` in it cannot be told apart; FreeSWITCH does not escape it, so
 * the extra fields are joined back into the last column.
 */
export function parseCallcenterList(body: string, command: string): Record<string, string>[] {
  const lines = body.split('\n').filter((line) => line !== '');
  if (lines[0]?.startsWith('-ERR')) throw new EslProtocolError(`${command}: ${lines[0]}`);
  if (lines[lines.length - 1] !== '+OK')
    throw new EslProtocolError(
      `${command}: answer does not end with +OK (${JSON.stringify(body.slice(0, 80))})`,
    );
  if (lines.length === 1) return [];
  const columns = (lines[0] ?? '').split('|');
  if (columns.length < 2) throw new EslProtocolError(`${command}: no header line`);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(1, -1)) {
    const fields = line.split('|');
    const row: Record<string, string> = {};
    columns.forEach((column, i) => {
      row[column] = i === columns.length - 1 ? fields.slice(i).join('|') : (fields[i] ?? '');
    });
    rows.push(row);
  }
  return rows;
}
