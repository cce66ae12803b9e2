import { PbxkitError } from '@pbxkit/core';

/**
 * A console request the server cannot answer as asked: a bad search parameter (400, `CONSOLE_BAD_REQUEST`), a
 * call or dead letter that does not exist (404, `CONSOLE_NOT_FOUND`), or a feature this server runs without
 * (409, `CONSOLE_UNAVAILABLE`, such as re-push without a CDR archive). The message names the problem.
 */
export class ConsoleRequestError extends PbxkitError {
  constructor(code: 'CONSOLE_BAD_REQUEST' | 'CONSOLE_NOT_FOUND' | 'CONSOLE_UNAVAILABLE', message: string) {
    super(code, message);
  }

  /** The HTTP status it is answered with. */
  get status(): number {
    return this.code === 'CONSOLE_NOT_FOUND' ? 404 : this.code === 'CONSOLE_UNAVAILABLE' ? 409 : 400;
  }
}

export const badRequest = (message: string) => new ConsoleRequestError('CONSOLE_BAD_REQUEST', message);
export const notFound = (message: string) => new ConsoleRequestError('CONSOLE_NOT_FOUND', message);
