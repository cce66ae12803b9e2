/** A registration to add to the fake (as a phone's REGISTER would), see {@link FakeFreeSwitch.register}. */
export interface FakeRegistrationOptions {
  user: string;
  domain: string;
  /** SIP Call-ID of the REGISTER. Default: a fresh one. */
  callId?: string;
  /** Seconds. Default 300. */
  expires?: number;
  networkIp?: string;
  networkPort?: string;
  /** `udp` (default), `tcp`, `tls`. */
  transport?: string;
  profile?: string;
  userAgent?: string;
}

interface Registration {
  user: string;
  domain: string;
  callId: string;
  contact: string;
  expiresAt: number;
  networkIp: string;
  networkPort: string;
  transport: string;
  profile: string;
  userAgent: string;
}

let callIds = 0;

/**
 * The fake's registrations: what `show registrations as json` lists, and the `sofia::register`,
 * `sofia::unregister` and `sofia::expire` headers mod_sofia 1.10 fires for them (names and order from
 * sofia_reg.c). One binding per user, as sofia's vanilla profiles (no `multiple-registrations`).
 */
export class FakeRegistrations {
  private readonly regs = new Map<string, Registration>();

  constructor(private readonly hostname: string) {}

  /** Adds (or refreshes) a binding; returns the `sofia::register` headers. */
  register(o: FakeRegistrationOptions, nowMs: number): Record<string, string> {
    const expires = o.expires ?? 300;
    const transport = o.transport ?? 'udp';
    const networkIp = o.networkIp ?? '127.0.0.1';
    const networkPort = o.networkPort ?? '5060';
    const reg: Registration = {
      user: o.user,
      domain: o.domain,
      callId: o.callId ?? `fake-reg-${++callIds}`,
      contact: `"${o.user}" <sip:${o.user}@${networkIp}:${networkPort};transport=${transport}>`,
      expiresAt: Math.floor(nowMs / 1000) + expires,
      networkIp,
      networkPort,
      transport,
      profile: o.profile ?? 'internal',
      userAgent: o.userAgent ?? 'fake-phone/1.0',
    };
    this.regs.set(`${o.user}@${o.domain}`, reg);
    return {
      'profile-name': reg.profile,
      'from-user': reg.user,
      'from-host': reg.domain,
      'presence-hosts': 'n/a',
      contact: reg.contact,
      'call-id': reg.callId,
      rpid: 'unknown',
      status: `Registered(${transport.toUpperCase()})`,
      expires: String(expires),
      'to-user': reg.user,
      'to-host': reg.domain,
      'network-ip': networkIp,
      'network-port': networkPort,
      username: reg.user,
      realm: reg.domain,
      'user-agent': reg.userAgent,
    };
  }

  /** Removes a binding (REGISTER with Expires: 0); the `sofia::unregister` headers, undefined if unknown. */
  unregister(user: string, domain: string): Record<string, string> | undefined {
    const reg = this.take(user, domain);
    if (!reg) return undefined;
    return {
      'profile-name': reg.profile,
      username: reg.user,
      'from-user': reg.user,
      'from-host': reg.domain,
      contact: reg.contact,
      'call-id': reg.callId,
      rpid: 'unknown',
      realm: reg.domain,
      expires: '0',
    };
  }

  /** Removes a binding as its expiry would; the `sofia::expire` headers, undefined if unknown. */
  expire(user: string, domain: string): Record<string, string> | undefined {
    const reg = this.take(user, domain);
    if (!reg) return undefined;
    return {
      'profile-name': reg.profile,
      'call-id': reg.callId,
      user: reg.user,
      host: reg.domain,
      contact: reg.contact,
      expires: String(reg.expiresAt),
      'user-agent': reg.userAgent,
      realm: reg.domain,
    };
  }

  /** Rows of `show registrations as json`, columns as FreeSWITCH's `registrations` table. */
  rows(): Array<Record<string, string>> {
    return [...this.regs.values()].map((r) => ({
      reg_user: r.user,
      realm: r.domain,
      token: r.callId,
      url: `sofia/${r.profile}/sip:${r.user}@${r.networkIp}:${r.networkPort}`,
      expires: String(r.expiresAt),
      network_ip: r.networkIp,
      network_port: r.networkPort,
      network_proto: r.transport,
      hostname: this.hostname,
      metadata: '',
    }));
  }

  private take(user: string, domain: string): Registration | undefined {
    const key = `${user}@${domain}`;
    const reg = this.regs.get(key);
    this.regs.delete(key);
    return reg;
  }
}
