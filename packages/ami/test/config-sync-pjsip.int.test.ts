import { describe, expect, it } from 'vitest';
import { rejectionOf } from './helpers.js';
import { mainAndBranch, syncFor } from './sync-setup.js';

const endpoint = (ext: number, office: string) =>
  `[${ext}]\ntype=endpoint\naors=${ext}\nauth=${ext}-auth\ncontext=from-internal\nallow=ulaw\nallow=alaw\naccountcode=${office}\ncallerid=User ${ext} <${ext}>\n`;
const aor = (ext: number) => `[${ext}]\ntype=aor\nmax_contacts=1\nqualify_frequency=60\n`;
const auth = (ext: number) =>
  `[${ext}-auth]\ntype=auth\nauth_type=userpass\nusername=${ext}\npassword=pa=ss${ext}\n`;

describe('AsteriskConfigSync (PJSIP, FreePBX 17 files)', () => {
  it('copies each filtered endpoint with its aor and auth, from three files, and reloads only res_pjsip', async () => {
    const { main, branch } = await mainAndBranch({ users: 0 });
    const exts = [1001, 1002, 1003, 1004];
    const office = (ext: number) => (ext % 2 ? 'HeadOffice' : 'DevOps');
    main.setConfig('pjsip.endpoint.conf', exts.map((e) => endpoint(e, office(e))).join('\n'));
    main.setConfig('pjsip.aor.conf', exts.map(aor).join('\n'));
    main.setConfig('pjsip.auth.conf', exts.map(auth).join('\n'));
    const { sync } = await syncFor(main, branch, { technology: 'pjsip' });
    expect(await sync.sync()).toMatchObject({ outcome: 'applied', users: 2 });

    const local = branch.config('pjsip_synch.conf');
    expect(local?.categories.map((c) => `${c.name}/${c.get('type')}`)).toEqual([
      '1001/endpoint',
      '1003/endpoint',
      '1001/aor',
      '1003/aor',
      '1001-auth/auth',
      '1003-auth/auth',
    ]);
    expect(local?.category('1001-auth')?.get('password')).toBe('pa=ss1001');
    expect(local?.categoriesNamed('1001')[0]?.getAll('allow')).toEqual(['ulaw', 'alaw']);
    expect(branch.reloads).toEqual(['res_pjsip.so']);
  });

  it('says which pattern is not a regular expression', async () => {
    const { main, branch } = await mainAndBranch({ users: 0 });
    const err = await rejectionOf(syncFor(main, branch, { filter: { key: 'accountcode', value: '^(Head' } }));
    expect(err).toMatchObject({ code: 'SYNC_OPTIONS' });
    expect(err.message).toMatch(/filter value "\^\(Head" is not a valid regular expression/);
  });
});
