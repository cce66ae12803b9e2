import { fixture } from '../../../scripts/test-env.js';

/** A user's file in the vanilla layout (`directory/default/<id>.xml`). */
export function userXml(id: string, password = `pw-${id}`): string {
  return `<include>
  <user id="${id}">
    <params>
      <param name="password" value="${password}"/>
    </params>
    <variables>
      <variable name="effective_caller_id_number" value="${id}"/>
      <variable name="user_context" value="default"/>
    </variables>
  </user>
</include>
`;
}

export function gatewayXml(name: string, realm: string): string {
  return `<include>
  <gateway name="${name}">
    <param name="realm" value="${realm}"/>
    <param name="register" value="false"/>
  </gateway>
</include>
`;
}

/**
 * A small FreeSWITCH tree in the vanilla layout: includes by glob, `$${var}` from vars.xml, two sofia profiles
 * (a gateway on `external`), mod_callcenter's captured config, the captured dialplan, an ACL and `users`
 * users in the `default` domain.
 */
export function sampleTree(users = 3): Record<string, string> {
  const files: Record<string, string> = {
    'freeswitch.xml': `<?xml version="1.0"?>
<document type="freeswitch/xml">
  <X-PRE-PROCESS cmd="include" data="vars.xml"/>
  <section name="configuration" description="Various Configuration">
    <X-PRE-PROCESS cmd="include" data="autoload_configs/*.xml"/>
  </section>
  <section name="dialplan" description="Regex/XML Dialplan">
    <X-PRE-PROCESS cmd="include" data="dialplan/*.xml"/>
  </section>
  <section name="directory" description="User Directory">
    <X-PRE-PROCESS cmd="include" data="directory/*.xml"/>
  </section>
</document>
`,
    'vars.xml': `<include>
  <X-PRE-PROCESS cmd="set" data="domain=pbx.example.com"/>
  <X-PRE-PROCESS cmd="set" data="hold_music=local_stream://moh"/>
  <X-PRE-PROCESS cmd="stun-set" data="external_rtp_ip=stun:stun.example.com"/>
</include>
`,
    'autoload_configs/sofia.conf.xml': `<configuration name="sofia.conf" description="sofia Endpoint">
  <global_settings>
    <param name="log-level" value="0"/>
  </global_settings>
  <profiles>
    <X-PRE-PROCESS cmd="include" data="../sip_profiles/*.xml"/>
  </profiles>
</configuration>
`,
    'autoload_configs/callcenter.conf.xml': fixture('fs-modules', 'config', 'callcenter.conf.xml').toString(
      'utf8',
    ),
    'autoload_configs/acl.conf.xml': `<configuration name="acl.conf" description="Network Lists">
  <network-lists>
    <list name="trusted" default="deny">
      <node type="allow" cidr="10.0.0.0/8"/>
    </list>
  </network-lists>
</configuration>
`,
    'sip_profiles/internal.xml': `<profile name="internal">
  <settings>
    <param name="sip-port" value="5060"/>
    <param name="ext-rtp-ip" value="$\${external_rtp_ip}"/>
  </settings>
</profile>
`,
    'sip_profiles/external.xml': `<profile name="external">
  <gateways>
    <X-PRE-PROCESS cmd="include" data="external/*.xml"/>
  </gateways>
  <settings>
    <param name="sip-port" value="5080"/>
  </settings>
</profile>
`,
    'sip_profiles/external/carrier1.xml': gatewayXml('carrier1', 'sip.carrier1.example'),
    'dialplan/default.xml': `<include>
  <context name="default">
    <X-PRE-PROCESS cmd="include" data="default/*.xml"/>
  </context>
</include>
`,
    'dialplan/default/00_capkit.xml': fixture('fs-modules', 'config', '00_capkit.xml').toString('utf8'),
    'directory/default.xml': `<include>
  <domain name="$\${domain}">
    <params>
      <param name="dial-string" value="{presence_id=\${dialed_user}@\${dialed_domain}}\${sofia_contact(\${dialed_user}@\${dialed_domain})}"/>
    </params>
    <groups>
      <group name="default">
        <users>
          <X-PRE-PROCESS cmd="include" data="default/*.xml"/>
        </users>
      </group>
    </groups>
  </domain>
</include>
`,
  };
  for (let i = 0; i < users; i++) {
    const id = String(1000 + i);
    files[`directory/default/${id}.xml`] = userXml(id);
  }
  return files;
}
