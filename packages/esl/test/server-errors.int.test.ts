import { Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { EslServer, type EslSession } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';

describe('EslServer errors nobody listens to', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('a failing outbound handler is logged with the call and counted without an error listener', async () => {
    const fake = await FakeFreeSwitch.start();
    cleanup.push(() => fake.stop());
    const { logger, next } = captureLogger();
    const registry = new Registry();
    let calls = 0;
    const server = new EslServer({ port: 0, logger, registry }, async () => {
      calls++;
      if (calls === 1) throw new Error('handler bug');
    });
    const { port } = await server.listen();
    cleanup.push(() => server.close(100));
    const first = await fake.callOutbound({ port });
    await first.closed;
    const line = await next((l) => l.msg === 'outbound session handler failed');
    expect(line.level).toBe('error');
    expect(line.fields).toMatchObject({ component: 'esl-server', err: new Error('handler bug') });
    expect(typeof line.fields.uuid).toBe('string');
    expect(await registry.metrics()).toContain('pbxkit_esl_errors_total{component="server"} 1');
    // The server keeps serving.
    const secondSession = new Promise<EslSession>((resolve) => server.once('session', resolve));
    await fake.callOutbound({ port }, { callerIdNumber: '2000' });
    expect((await secondSession).channelData.headers['Caller-Caller-ID-Number']).toBe('2000');
  });
});
