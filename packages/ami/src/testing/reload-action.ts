import type { FakeActionHandler } from './builtin-actions.js';

/** The modules an Asterisk 22 install loads that pbxkit reloads; chan_sip is gone since Asterisk 21. */
export const DEFAULT_FAKE_MODULES: readonly string[] = [
  'res_pjsip.so',
  'chan_pjsip.so',
  'pbx_config.so',
  'app_voicemail.so',
];

// loader.c's resource_name_match: `chan_sip` and `chan_sip.so` name the same module.
function moduleName(name: string): string {
  return name.toLowerCase().endsWith('.so') ? name : `${name}.so`;
}

/**
 * manager.c action_reload: `Module:` names one module (every module when empty); one that is not loaded is
 * `No such module`, a reload is acknowledged `Module Reloaded`. `onReload` gets the module reloaded, `''`
 * for all.
 */
export function reloadAction(
  modules: readonly string[],
  onReload: (module: string) => void,
): FakeActionHandler {
  const loaded = new Set(modules.map((m) => moduleName(m).toLowerCase()));
  return (action, session) => {
    const wanted = action.get('Module') ?? '';
    const name = wanted === '' ? '' : moduleName(wanted);
    if (name !== '' && !loaded.has(name.toLowerCase())) return session.error(action, 'No such module');
    onReload(name);
    session.respond(action, undefined, 'Module Reloaded');
  };
}
