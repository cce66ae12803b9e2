import type { FakeFreeSwitch } from './fake-freeswitch.js';

/**
 * Replies of FreeSWITCH 1.10.12 to reload commands, byte for byte from `fixtures/fs-modules/esl/60`-`63`
 * (the ones marked "source" were not captured and follow mod_sofia/mod_commands/mod_callcenter's code).
 */
export const FS_RELOAD_REPLIES = {
  /** `reloadxml` after a good change (60). */
  reloadxml: '+OK [Success]\n',
  /** `reloadxml` with a malformed dialplan file (61): `+OK`, not `-ERR`. */
  reloadxmlMalformed: '+OK [[error near line 6802]: missing >]\n',
  /** `reload mod_callcenter` (62). */
  reloadModule: '+OK Reloading XML\n+OK module unloaded\n+OK module loaded\n',
  /** `sofia profile internal rescan` (63). */
  rescan: 'Reload XML [Success]\n+OK scan complete\n',
  /** `sofia profile internal killgw nosuchgw` (63). */
  killgwMissing: '-ERR no such gateway.\n',
  /** `sofia profile nosuchprofile rescan` (63): no `-ERR` and no newline. */
  invalidProfile: (profile: string) => `Invalid Profile [${profile}]`,
  /** `sofia profile <p> killgw <gw>` for a known gateway (source). */
  killgw: '+OK gateway marked for deletion.\n',
  /** `reloadacl` (source: mod_commands). */
  reloadacl: '+OK acl reloaded\n',
  /** `callcenter_config queue load|reload|unload <q>` (source: mod_callcenter). */
  queue: '+OK\n',
} as const;

/**
 * The reload side of the fake: which sofia profiles and gateways it runs, the mod_callcenter queues it has
 * loaded, and replies to force for a test (a malformed `reloadxml`, a `-ERR`, a failing rescan). Installed on
 * every {@link FakeFreeSwitch} as `fake.reloads`.
 */
export class FakeReloads {
  /** Running sofia profiles and their gateways. Default `internal` and `external`, no gateways. */
  readonly profiles = new Map<string, Set<string>>([
    ['internal', new Set()],
    ['external', new Set()],
  ]);
  /** Gateways each profile's XML defines, which `rescan` starts: set them to what your config has. */
  readonly configuredGateways = new Map<string, Set<string>>();
  /** Loaded mod_callcenter queues. */
  readonly queues = new Set<string>();
  private readonly forced: Array<{ match: (command: string) => boolean; reply: string; times: number }> = [];

  constructor(private readonly fake: FakeFreeSwitch) {
    fake.onApi('reloadxml', () => this.answer('reloadxml', FS_RELOAD_REPLIES.reloadxml));
    fake.onApi('reload', (args) => this.answer(`reload ${args}`, FS_RELOAD_REPLIES.reloadModule));
    fake.onApi('reloadacl', () => this.answer('reloadacl', FS_RELOAD_REPLIES.reloadacl));
    fake.onApi('sofia', (args) => this.sofia(args));
    fake.onApi('callcenter_config', (args) => this.callcenter(args));
  }

  /**
   * Makes the next `times` commands that match (`'reloadxml'`, a prefix such as `'sofia profile internal
   * rescan'`, or a RegExp) answer `reply` instead of the normal reply.
   */
  failNext(match: string | RegExp, reply: string, times = 1): this {
    const test =
      typeof match === 'string'
        ? (c: string) => c === match || c.startsWith(`${match} `)
        : (c: string) => match.test(c);
    this.forced.push({ match: test, reply, times });
    return this;
  }

  private answer(command: string, normal: string): string {
    const i = this.forced.findIndex((f) => f.match(command));
    if (i === -1) return normal;
    const forced = this.forced[i] as (typeof this.forced)[number];
    if (--forced.times <= 0) this.forced.splice(i, 1);
    return forced.reply;
  }

  private sofia(args: string): string {
    const [what, profile = '', verb = '', arg = ''] = args.split(' ');
    const command = `sofia ${args}`;
    if (what !== 'profile') return this.answer(command, `-ERR sofia ${what} is not faked\n`);
    const gateways = this.profiles.get(profile);
    if (verb === 'start') {
      if (gateways) return this.answer(command, `Failure starting ${profile}\n`);
      this.profiles.set(profile, new Set(this.configuredGateways.get(profile)));
      return this.answer(command, `Reload XML [Success]\n${profile} started successfully\n`);
    }
    if (!gateways) return this.answer(command, FS_RELOAD_REPLIES.invalidProfile(profile));
    if (verb === 'rescan') {
      const reply = this.answer(command, FS_RELOAD_REPLIES.rescan);
      if (reply === FS_RELOAD_REPLIES.rescan)
        for (const gw of this.configuredGateways.get(profile) ?? []) gateways.add(gw);
      return reply;
    }
    if (verb === 'killgw') {
      const reply = this.answer(
        command,
        gateways.has(arg) ? FS_RELOAD_REPLIES.killgw : FS_RELOAD_REPLIES.killgwMissing,
      );
      if (reply === FS_RELOAD_REPLIES.killgw) gateways.delete(arg);
      return reply;
    }
    if (verb === 'restart') {
      this.profiles.set(profile, new Set(this.configuredGateways.get(profile)));
      return this.answer(command, `Reload XML [Success]\nrestarting: ${profile}\n`);
    }
    if (verb === 'stop') {
      this.profiles.delete(profile);
      return this.answer(command, `Reload XML [Success]\nstopping: ${profile}\n`);
    }
    return this.answer(command, `-ERR sofia profile ${verb} is not faked\n`);
  }

  private callcenter(args: string): string {
    const [what, verb, name = ''] = args.split(' ');
    const command = `callcenter_config ${args}`;
    if (what !== 'queue' || !verb || !['load', 'reload', 'unload'].includes(verb)) {
      // Lists and agent changes are the fake's mod_callcenter (FakeFreeSwitch.loadCallcenter).
      const callcenter = this.fake.callcenter;
      return this.answer(
        command,
        callcenter ? callcenter.api(args) : '-ERR callcenter_config Command not found!\n',
      );
    }
    const reply = this.answer(command, FS_RELOAD_REPLIES.queue);
    if (reply === FS_RELOAD_REPLIES.queue) {
      if (verb === 'unload') this.queues.delete(name);
      else this.queues.add(name);
    }
    return reply;
  }
}
