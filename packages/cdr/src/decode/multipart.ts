import { CdrDecodeError } from '../errors.js';

/** The part of a `multipart/form-data` body that holds the CDR. */
export interface MultipartCdrPart {
  /** The part's bytes (a view into the body, not a copy). */
  content: Buffer;
  /** The part's file name, when it was sent as a file. */
  filename: string | undefined;
  /** The part's own Content-Type, when it has one. */
  contentType: string | undefined;
}

const CR = 0x0d;
const LF = 0x0a;
/** RFC 2046: 1 to 70 characters. */
const MAX_BOUNDARY = 70;
/** The part names listed in an error message, at most. */
const NAMES_SHOWN = 8;

/**
 * The `boundary` parameter of a multipart Content-Type (quoted or not), or a {@link CdrDecodeError} saying why
 * there is none.
 */
export function multipartBoundary(contentType: string): string {
  const match = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  const boundary = match ? (match[1]?.replace(/\\(.)/g, '$1') ?? match[2] ?? '') : '';
  if (!boundary) {
    throw new CdrDecodeError('multipart/form-data body without a boundary parameter in its Content-Type');
  }
  if (boundary.length > MAX_BOUNDARY) {
    throw new CdrDecodeError(`multipart boundary longer than ${MAX_BOUNDARY} characters`);
  }
  return boundary;
}

/** The end of the line that starts at `from` (the index of its LF), or -1. */
function lineEnd(body: Buffer, from: number): number {
  return body.indexOf(LF, from);
}

/** The text of a line without its CR. */
function lineText(body: Buffer, start: number, lf: number): string {
  const end = lf > start && body[lf - 1] === CR ? lf - 1 : lf;
  return body.toString('utf8', start, end);
}

/** A parameter of a Content-Disposition header (`name="cdr"`, `filename=a.xml`), unquoted. */
function dispositionParam(header: string, param: string): string | undefined {
  const re = new RegExp(`;\\s*${param}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const match = re.exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/**
 * Finds the part named `cdr` (a form field or a file, in any position) in a `multipart/form-data` body, by
 * slicing the body: nothing is copied. The receiver has already read the whole body within its size limit and
 * memory budget, so a parser over the complete buffer needs no more memory than the body itself.
 *
 * Delimiter lines may end in CRLF or a bare LF. A body whose boundary is missing from the Content-Type, that
 * does not contain its boundary, that ends before its closing delimiter, that has no `cdr` part or two of them,
 * is refused with a {@link CdrDecodeError} saying which.
 */
export function findMultipartCdr(body: Buffer, contentType: string): MultipartCdrPart {
  const boundary = multipartBoundary(contentType);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\n--${boundary}`, 'latin1');
  // The first delimiter: at the very start, or at the start of a line after a preamble.
  let at = body.subarray(0, dashBoundary.length).equals(dashBoundary) ? 0 : -1;
  if (at === -1) {
    const found = body.indexOf(delimiter);
    if (found === -1) {
      throw new CdrDecodeError(
        `multipart body does not contain its boundary ${JSON.stringify(boundary)} (Content-Type and body disagree)`,
      );
    }
    at = found + 1;
  }
  const names: string[] = [];
  let found: MultipartCdrPart | undefined;
  for (;;) {
    const afterBoundary = at + dashBoundary.length;
    if (body[afterBoundary] === 0x2d && body[afterBoundary + 1] === 0x2d) break; // `--boundary--`: the end
    const boundaryEnd = lineEnd(body, afterBoundary);
    if (boundaryEnd === -1 || lineText(body, afterBoundary, boundaryEnd).trim() !== '') {
      throw new CdrDecodeError('multipart body has a malformed boundary line (or ends right after it)');
    }
    // The part's headers, up to an empty line.
    let name: string | undefined;
    let filename: string | undefined;
    let partType: string | undefined;
    let transfer: string | undefined;
    let start = boundaryEnd + 1;
    for (;;) {
      const end = lineEnd(body, start);
      if (end === -1) throw new CdrDecodeError('multipart body ends inside the headers of a part');
      const line = lineText(body, start, end);
      start = end + 1;
      if (line === '') break;
      const colon = line.indexOf(':');
      const field = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (field === 'content-disposition') {
        name = dispositionParam(value, 'name');
        filename = dispositionParam(value, 'filename');
      } else if (field === 'content-type') partType = value;
      else if (field === 'content-transfer-encoding') transfer = value.toLowerCase();
    }
    // The part ends where the next delimiter begins: at the LF (and the CR before it) of `\n--boundary`.
    const next = body.indexOf(delimiter, start - 1);
    if (next === -1) {
      throw new CdrDecodeError('multipart body ends before its closing boundary (truncated?)');
    }
    const end = Math.max(start, next > 0 && body[next - 1] === CR ? next - 1 : next);
    names.push(name ?? '(no name)');
    if (name === 'cdr') {
      if (found) throw new CdrDecodeError('multipart body has more than one part named cdr');
      if (
        transfer &&
        transfer !== 'binary' &&
        transfer !== '8bit' &&
        transfer !== '7bit' &&
        transfer !== 'base64'
      ) {
        throw new CdrDecodeError(
          `multipart cdr part has an unsupported Content-Transfer-Encoding: ${transfer}`,
        );
      }
      found = { content: body.subarray(start, end), filename, contentType: partType };
    }
    at = next + 1;
  }
  if (!found) {
    const shown = names.slice(0, NAMES_SHOWN).map((n) => JSON.stringify(n));
    const more = names.length > NAMES_SHOWN ? `, and ${names.length - NAMES_SHOWN} more` : '';
    throw new CdrDecodeError(
      `multipart body has no part named cdr (its parts: ${shown.join(', ') || 'none'}${more})`,
    );
  }
  return found;
}
