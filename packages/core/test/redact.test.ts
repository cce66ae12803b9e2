import { describe, expect, it } from 'vitest';
import { redactText } from '../src/index.js';

describe('redactText', () => {
  it('hides absolute paths wherever they stand in a message, and keeps the rest', () => {
    expect(redactText("ENOSPC: no space left on device, write '/var/lib/pbxkit/cdr-spool/x'")).toBe(
      "ENOSPC: no space left on device, write '<path>'",
    );
    expect(redactText('/srv/recordings writable, 12 GiB free')).toBe('<path> writable, 12 GiB free');
    expect(redactText('statfs (/data/a b) failed')).toBe('statfs (<path> b) failed');
    expect(redactText('bucket rec: connect ECONNREFUSED 127.0.0.1:9')).toBe(
      'bucket rec: connect ECONNREFUSED 127.0.0.1:9',
    );
    expect(redactText('http://10.0.0.2:8080/_peer answering')).toBe('http://10.0.0.2:8080/_peer answering');
  });

  it("masks a URL's password, not its user or host", () => {
    expect(redactText('cannot reach postgres://fusionpbx:s3cret@10.0.0.5:5432/fusionpbx')).toBe(
      'cannot reach postgres://fusionpbx:***@10.0.0.5:5432/fusionpbx',
    );
    expect(redactText('https://ccp:p%40ss@ccp.example/cdr')).toBe('https://ccp:***@ccp.example/cdr');
  });
});
