import { createTwoFilesPatch, FILE_HEADERS_ONLY, formatPatch } from 'diff';
import type { ConfigFiles } from './files.js';

/**
 * Time one file's diff may take before it is written as a whole-file replacement instead. Myers' algorithm
 * costs (lines × changed lines): a wholesale rewrite of a 10,000-line file would block the event loop for
 * seconds, while the probe monitor and the status server share it.
 */
const DIFF_TIMEOUT_MS = 200;

/**
 * A unified diff from `before` to `after`, file by file in name order, as `diff -ruN` would print it: `a/` and
 * `b/` prefixes, `/dev/null` for added and removed files, three lines of context. Empty when nothing differs.
 * A file whose minimal diff takes longer than 200 ms to compute is shown as all lines removed and added (still
 * a correct patch).
 */
export function diffFiles(
  before: ConfigFiles,
  after: ConfigFiles,
  beforeLabel: string,
  afterLabel: string,
): string {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  let out = '';
  for (const name of names) {
    const old = before[name];
    const now = after[name];
    if (old === now) continue;
    const oldName = old === undefined ? '/dev/null' : `a/${name}`;
    const newName = now === undefined ? '/dev/null' : `b/${name}`;
    out +=
      createTwoFilesPatch(oldName, newName, old ?? '', now ?? '', beforeLabel, afterLabel, {
        context: 3,
        headerOptions: FILE_HEADERS_ONLY,
        timeout: DIFF_TIMEOUT_MS,
      }) ?? wholeFilePatch(oldName, newName, old ?? '', now ?? '', beforeLabel, afterLabel);
  }
  return out;
}

/** One hunk replacing every line of `old` with every line of `now`: linear time, whatever the sizes. */
function wholeFilePatch(
  oldName: string,
  newName: string,
  old: string,
  now: string,
  oldHeader: string,
  newHeader: string,
) {
  const oldLines = patchLines(old, '-');
  const newLines = patchLines(now, '+');
  return formatPatch(
    {
      oldFileName: oldName,
      newFileName: newName,
      oldHeader,
      newHeader,
      hunks: [
        {
          oldStart: oldLines.count === 0 ? 0 : 1,
          oldLines: oldLines.count,
          newStart: newLines.count === 0 ? 0 : 1,
          newLines: newLines.count,
          lines: [...oldLines.lines, ...newLines.lines],
        },
      ],
    },
    FILE_HEADERS_ONLY,
  );
}

function patchLines(text: string, sign: '-' | '+'): { count: number; lines: string[] } {
  if (text === '') return { count: 0, lines: [] };
  const parts = text.split('\n');
  const complete = parts.at(-1) === '';
  if (complete) parts.pop();
  const lines = parts.map((line) => sign + line);
  if (!complete) lines.push('\\ No newline at end of file');
  return { count: parts.length, lines };
}
