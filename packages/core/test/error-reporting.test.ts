import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { ErrorReporter } from '../src/error-reporter.js';
import { isPbxkitError } from '../src/errors.js';
import { TypedEmitter } from '../src/events.js';
import type { Logger } from '../src/logger.js';
import { importOptional, MissingDependencyError } from '../src/optional-import.js';

interface JobEvents {
  done: (id: string) => void;
  error: (job: string, err: Error) => void;
}

/** A long-lived component in the shape of pbxkit's: its own logger, a registry, errors through emitError. */
class Job extends TypedEmitter<JobEvents> {
  private readonly errors: ErrorReporter;

  constructor(options: { logger?: Logger; registry?: Registry }) {
    super();
    this.errors = new ErrorReporter('core', 'job', options);
  }

  fail(job: string, err: Error): boolean {
    return this.emitError(this.errors, { msg: 'job failed', job }, job, err);
  }
}

describe('errors of long-lived components', () => {
  it('are logged and counted when nothing listens to the error event', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const job = new Job({ logger: logger.child({ component: 'job' }), registry });
    const err = new Error('disk full');
    expect(job.fail('nightly', err)).toBe(false); // nobody listened, and nothing was thrown
    expect(lines).toEqual([
      { level: 'error', fields: { component: 'job', job: 'nightly', err }, msg: 'job failed' },
    ]);
    expect(await registry.metrics()).toContain('pbxkit_core_errors_total{component="job"} 1');
  });

  it('still reach a listener, with the event arguments, and are logged and counted too', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const job = new Job({ logger, registry });
    const heard: Array<[string, Error]> = [];
    job.on('error', (name, err) => heard.push([name, err]));
    const err = new Error('timeout');
    expect(job.fail('hourly', err)).toBe(true);
    job.fail('hourly', err);
    expect(heard).toEqual([
      ['hourly', err],
      ['hourly', err],
    ]);
    expect(lines).toHaveLength(2);
    expect(await registry.metrics()).toContain('pbxkit_core_errors_total{component="job"} 2');
  });

  it('share one counter per package, told apart by component, and log at warn when asked', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const a = new ErrorReporter('core', 'reader', { logger, registry });
    const b = new ErrorReporter('core', 'writer', { registry });
    a.report(new Error('lost'), { msg: 'reconnecting', level: 'warn', attempt: 2 });
    a.report('not even an Error', 'odd failure');
    b.report(new Error('x'), 'silent by default');
    expect(lines.map((l) => [l.level, l.msg, l.fields.attempt])).toEqual([
      ['warn', 'reconnecting', 2],
      ['error', 'odd failure', undefined],
    ]);
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_core_errors_total{component="reader"} 2');
    expect(text).toContain('pbxkit_core_errors_total{component="writer"} 1');
  });

  it('never turn into an exception when the logger itself throws', async () => {
    const registry = new Registry();
    const broken = captureLogger().logger;
    broken.error = () => {
      throw new Error('log destination closed');
    };
    const reporter = new ErrorReporter('core', 'job', { logger: broken, registry });
    expect(() => reporter.report(new Error('x'), 'x')).not.toThrow();
    expect(await registry.metrics()).toContain('pbxkit_core_errors_total{component="job"} 1');
  });
});

describe('importOptional', () => {
  it('turns a package that is not installed into MISSING_DEPENDENCY naming what to install', async () => {
    // A name held in a variable: the bundler leaves the import to Node, as a published build does.
    const name = 'pbxkit-no-such-package';
    const err = await importOptional(name, 'TheFeature', () => import(/* @vite-ignore */ name)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(isPbxkitError(err, 'MISSING_DEPENDENCY')).toBe(true);
    expect((err as MissingDependencyError).dependency).toBe(name);
    expect((err as Error).message).toBe(
      `TheFeature needs the npm package "${name}", which is not installed: run \`npm install ${name}\``,
    );
  });

  it('loads a package that is there, and passes on other failures as they are', async () => {
    const { EventEmitter } = await importOptional('eventemitter3', 'x', () => import('eventemitter3'));
    expect(typeof EventEmitter).toBe('function');
    // A package that is installed but whose own dependency is missing is not reported as missing itself.
    const inner = Object.assign(
      new Error("Cannot find package 'bson' imported from /x/mongodb/lib/index.js"),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    await expect(importOptional('mongodb', 'x', () => Promise.reject(inner))).rejects.toBe(inner);
    const broken = new SyntaxError('Unexpected token');
    await expect(importOptional('pg', 'x', () => Promise.reject(broken))).rejects.toBe(broken);
  });
});
