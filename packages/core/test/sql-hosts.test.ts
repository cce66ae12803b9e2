import { describe, expect, it } from 'vitest';
import { hostMatches, isHostFailure, SqlConnectionStringError, splitHosts } from '../src/sql/hosts.js';

describe('multi-host PostgreSQL connection strings (libpq syntax)', () => {
  it('splits the hosts into one pg connection string each, in order, keeping user, database and other parameters', () => {
    const hosts = splitHosts(
      'postgres://cdr:s3cret@db1:5432,db2:6432/fusionpbx?target_session_attrs=read-write&application_name=x',
    );
    expect(hosts).toEqual({
      urls: [
        'postgres://cdr:s3cret@db1:5432/fusionpbx?application_name=x',
        'postgres://cdr:s3cret@db2:6432/fusionpbx?application_name=x',
      ],
      labels: ['db1:5432', 'db2:6432'],
      targetSessionAttrs: 'read-write',
    });
  });

  it('gives hosts without a port the last port given (else 5432), and keeps IPv6 brackets', () => {
    expect(splitHosts('postgresql://u@a,b:7000,[::1]/db')?.labels).toEqual([
      'a:7000',
      'b:7000',
      '[::1]:7000',
    ]);
    expect(splitHosts('postgres://a,b/db')?.labels).toEqual(['a:5432', 'b:5432']);
    expect(splitHosts('postgres://a,b/db')?.targetSessionAttrs).toBe('any');
  });

  it('leaves a single-host URL to pg, unless it asks for target_session_attrs', () => {
    expect(splitHosts('postgres://u@h:5432/db')).toBeUndefined();
    expect(splitHosts('postgres://u@h:5432/db?target_session_attrs=primary')?.urls).toEqual([
      'postgres://u@h:5432/db',
    ]);
  });

  it('names what is wrong with a bad one, without the password', () => {
    const bad = () => splitHosts('postgres://u:pw@h1,h2/db?target_session_attrs=writable');
    expect(bad).toThrow(SqlConnectionStringError);
    expect(bad).toThrow(/target_session_attrs=writable is not one of any, read-write/);
    expect(bad).not.toThrow(/pw/);
    expect(() => splitHosts('postgres://u:pw@h1,,h2/db')).toThrow(/host "" .* is not host\[:port\]/);
  });
});

describe('which host fits target_session_attrs', () => {
  const primary = { inRecovery: false, readOnly: false };
  const standby = { inRecovery: true, readOnly: true };
  it.each([
    ['read-write', [true, false]],
    ['primary', [true, false]],
    ['read-only', [false, true]],
    ['standby', [false, true]],
    ['any', [true, true]],
  ] as const)('%s: primary %s, standby', (attrs, [onPrimary, onStandby]) => {
    expect([hostMatches(attrs, primary), hostMatches(attrs, standby)]).toEqual([onPrimary, onStandby]);
  });

  it('a host with default_transaction_read_only is not read-write, though it is a primary', () => {
    const locked = { inRecovery: false, readOnly: true };
    expect(hostMatches('read-write', locked)).toBe(false);
    expect(hostMatches('primary', locked)).toBe(true);
  });
});

describe('errors that make the client choose a host again', () => {
  const server = (code: string) => Object.assign(new Error(code), { code, severity: 'ERROR' });
  it('connection errors, shutdown and a read-only standby do; a statement error does not', () => {
    expect(isHostFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isHostFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['08006', '57P01', '57P03', '25006']) expect(isHostFailure(server(code))).toBe(true);
    for (const code of ['23505', '22021', '42P01', '40001']) expect(isHostFailure(server(code))).toBe(false);
  });
});
