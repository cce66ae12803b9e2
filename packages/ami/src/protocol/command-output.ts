import type { AmiMessage } from './message.js';

/**
 * The text of a `Command` response: the `Output:` lines joined with `\n` (empty lines kept), or, from
 * Asterisk before 14, the raw `Response: Follows` body up to `--END COMMAND--`.
 */
export function commandOutput(response: AmiMessage): string {
  if (response.name.toLowerCase() === 'follows') return response.text.join('\n');
  return response.getAll('Output').join('\n');
}
