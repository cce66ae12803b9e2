// Imports from the package's own name, not relative paths: the build keeps them as imports of the main
// entry, so FakeAsterisk and your code share the same classes (instanceof works across the two entries).

export type { FakeActionHandler, FakeCommandResult } from './builtin-actions.js';
export {
  type FakeActionOptions,
  FakeAsterisk,
  type FakeAsteriskEvents,
  type FakeAsteriskOptions,
  type FakeManagerUser,
} from './fake-asterisk.js';
export { FakeAmiSession, type FakeFields, type FakeListOptions } from './fake-session.js';
export { type SipAdditionalOptions, sipAdditionalConf } from './sip-users.js';
