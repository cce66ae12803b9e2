import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(
  new URL('../../../fixtures/cdr/ccm-aleg-outbound-gateway-bridge-answered.cdr.xml', import.meta.url),
);

/**
 * A CDR of about `bytes` bytes built from a real one (FreeSWITCH 1.4, 18.9 KB): its `<variables>` block is
 * repeated with suffixed names and its `app_log` entries repeated, as long calls with many transfers,
 * re-INVITEs and IVR loops grow real CDRs to megabytes.
 */
export function syntheticCdr(bytes: number): string {
  const base = readFileSync(FIXTURE, 'utf8');
  const varsStart = base.indexOf('<variables>') + '<variables>'.length;
  const varsEnd = base.indexOf('</variables>');
  const vars = base.slice(varsStart, varsEnd);
  const appStart = base.indexOf('<app_log>') + '<app_log>'.length;
  const appEnd = base.indexOf('</app_log>');
  const apps = base.slice(appStart, appEnd);
  let extraVars = '';
  let extraApps = '';
  for (let i = 0; base.length + extraVars.length + extraApps.length < bytes; i++) {
    extraVars += vars.replace(/<(\/?)([A-Za-z_][A-Za-z0-9_]*)>/g, `<$1$2_r${i}>`);
    if (i % 4 === 0) extraApps += apps;
  }
  return base.slice(0, varsEnd) + extraVars + base.slice(varsEnd, appEnd) + extraApps + base.slice(appEnd);
}
