import { PbxkitError } from '@pbxkit/core';

/** The request body or file is not in any encoding mod_xml_cdr writes (urlencoded, plain, base64, XML). */
export class CdrDecodeError extends PbxkitError {
  constructor(message: string) {
    super('CDR_DECODE', message);
  }
}

/** The XML could not be read as a CDR (truncated, no `<cdr>` root, no call uuid). */
export class CdrParseError extends PbxkitError {
  constructor(message: string) {
    super('CDR_PARSE', message);
  }
}
