export type { FakeActionHandler, FakeCommandResult } from './builtin-actions.js';
export { FakeAsterisk, type FakeAsteriskEvents, type FakeAsteriskOptions } from './fake-asterisk.js';
export { FakeAmiSession, type FakeFields, type FakeListOptions } from './fake-session.js';
