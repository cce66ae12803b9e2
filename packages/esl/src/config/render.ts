import type { ConfigFiles, SqlClient } from '@pbxkit/core';

/** A directory user to render: `directory/<domain>/<id>.xml`. */
export interface DirectoryUser {
  domain: string;
  id: string;
  /** `<params>` (`password`, `vm-password`, `dial-string`). Empty values are left out. */
  params?: Record<string, string | null | undefined>;
  /** `<variables>` (`user_context`, `effective_caller_id_name`, `toll_allow`). Empty values are left out. */
  variables?: Record<string, string | null | undefined>;
}

/** A sofia gateway to render: `sip_profiles/<profile>/<file>.xml`. */
export interface GatewayDef {
  profile: string;
  name: string;
  /** The file's name without `.xml`. Default: the gateway's name. */
  file?: string;
  params: Record<string, string | null | undefined>;
}

/**
 * Renders users and gateways as the static XML files FreeSWITCH reads, in the vanilla layout: one file per
 * user under `directory/<domain>/`, with `directory/<domain>.xml` declaring the domain and including them, and
 * one file per gateway under `sip_profiles/<profile>/` (which the profile's `<gateways>` includes). Values are
 * escaped (a `$${var}` in a value stays, for the preprocessor).
 */
export function renderDirectoryAndGateways(
  users: readonly DirectoryUser[],
  gateways: readonly GatewayDef[] = [],
): ConfigFiles {
  const files: Record<string, string> = {};
  const domains = new Set<string>();
  for (const user of users) {
    domains.add(user.domain);
    files[`directory/${safeName(user.domain)}/${safeName(user.id)}.xml`] =
      `<include>\n  <user id="${esc(user.id)}">\n${block('params', 'param', user.params)}${block('variables', 'variable', user.variables)}  </user>\n</include>\n`;
  }
  for (const domain of [...domains].sort()) {
    files[`directory/${safeName(domain)}.xml`] = `<include>
  <domain name="${esc(domain)}">
    <params>
      <param name="dial-string" value="{^^:sip_invite_domain=\${dialed_domain}:presence_id=\${dialed_user}@\${dialed_domain}}\${sofia_contact(*/\${dialed_user}@\${dialed_domain})}"/>
    </params>
    <groups>
      <group name="default">
        <users>
          <X-PRE-PROCESS cmd="include" data="${safeName(domain)}/*.xml"/>
        </users>
      </group>
    </groups>
  </domain>
</include>
`;
  }
  for (const gw of gateways) {
    const params = Object.entries(gw.params)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `    <param name="${esc(k)}" value="${esc(String(v))}"/>\n`)
      .join('');
    files[`sip_profiles/${safeName(gw.profile)}/${safeName(gw.file ?? gw.name)}.xml`] =
      `<include>\n  <gateway name="${esc(gw.name)}">\n${params}  </gateway>\n</include>\n`;
  }
  return files;
}

/** Options of {@link fusionPbxRenderer}. */
export interface FusionPbxRenderOptions {
  /** Schema of FusionPBX's tables. Default `public`. */
  schema?: string;
  /** Only this domain (`domain_name`). Default: every enabled domain. */
  domain?: string;
}

/**
 * Renders FusionPBX's enabled extensions (`v_extensions` joined with `v_domains`) and gateways (`v_gateways`) as
 * static XML, for the hybrid design: FusionPBX's UI writes PostgreSQL, this renders, a {@link HybridPublisher}
 * commits and pushes, the nodes pull. Gateways are named by their `gateway_uuid` and written to
 * `sip_profiles/<profile>/v_<uuid>.xml`, as FusionPBX itself does (its dialplans bridge to
 * `sofia/gateway/<uuid>/…`). `enabled` may be boolean or FusionPBX's older `'true'` text.
 *
 * @example
 * ```ts
 * const source = new RenderSource({ label: 'postgres:fusionpbx', render: fusionPbxRenderer(sql), base: new DirectorySource({ dir: './static' }) });
 * ```
 */
export function fusionPbxRenderer(
  sql: SqlClient,
  options: FusionPbxRenderOptions = {},
): () => Promise<ConfigFiles> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/i.test(schema)) throw new TypeError(`not a schema name: ${schema}`);
  const enabled = (col: string) => `coalesce(${col}::text, 'true') in ('true', 't')`;
  return async () => {
    const domainFilter = options.domain === undefined ? '' : ' and d.domain_name = $1';
    const params = options.domain === undefined ? [] : [options.domain];
    const ext = await sql.query<Record<string, string | null>>(
      `select d.domain_name, e.extension, e.number_alias, e.password, e.accountcode, e.user_context,
              e.effective_caller_id_name, e.effective_caller_id_number, e.outbound_caller_id_name,
              e.outbound_caller_id_number, e.toll_allow, e.call_group, e.limit_max, e.max_registrations
         from ${schema}.v_extensions e join ${schema}.v_domains d on d.domain_uuid = e.domain_uuid
        where ${enabled('e.enabled')} and ${enabled('d.domain_enabled')}${domainFilter}
        order by d.domain_name, e.extension`,
      params,
    );
    const gws = await sql.query<Record<string, string | null>>(
      `select g.gateway_uuid::text as gateway_uuid, g.gateway, g.username, g.password, g.auth_username, g.realm,
              g.from_user, g.from_domain, g.proxy, g.register_proxy, g.outbound_proxy, g.expire_seconds::text,
              g.register::text as register, g.register_transport, g.retry_seconds::text, g.caller_id_in_from::text,
              g.ping::text, g.context, g.profile
         from ${schema}.v_gateways g left join ${schema}.v_domains d on d.domain_uuid = g.domain_uuid
        where ${enabled('g.enabled')}${options.domain === undefined ? '' : ' and (d.domain_name = $1 or g.domain_uuid is null)'}
        order by g.gateway_uuid`,
      params,
    );
    const users: DirectoryUser[] = ext.rows.map((r) => ({
      domain: r.domain_name ?? '',
      id: r.extension ?? '',
      params: { password: r.password },
      variables: {
        user_context: r.user_context,
        accountcode: r.accountcode,
        effective_caller_id_name: r.effective_caller_id_name,
        effective_caller_id_number: r.effective_caller_id_number,
        outbound_caller_id_name: r.outbound_caller_id_name,
        outbound_caller_id_number: r.outbound_caller_id_number,
        toll_allow: r.toll_allow,
        callgroup: r.call_group,
        'number-alias': r.number_alias,
        'max-registrations': r.max_registrations,
      },
    }));
    const gateways: GatewayDef[] = gws.rows.map((g) => ({
      profile: g.profile || 'external',
      name: g.gateway_uuid ?? '',
      file: `v_${g.gateway_uuid}`,
      params: {
        description: g.gateway,
        username: g.username,
        password: g.password,
        'auth-username': g.auth_username,
        realm: g.realm,
        'from-user': g.from_user,
        'from-domain': g.from_domain,
        proxy: g.proxy,
        'register-proxy': g.register_proxy,
        'outbound-proxy': g.outbound_proxy,
        'expire-seconds': g.expire_seconds,
        register: g.register,
        'register-transport': g.register_transport,
        'retry-seconds': g.retry_seconds,
        'caller-id-in-from': g.caller_id_in_from,
        ping: g.ping,
        context: g.context,
      },
    }));
    return renderDirectoryAndGateways(users, gateways);
  };
}

/** The part of a MongoDB collection the renderer uses (`mongodb`'s `Collection` fits). */
export interface MongoCollectionLike<Doc> {
  find(filter: Record<string, unknown>): { toArray(): Promise<Doc[]> };
}

/** Options of {@link mongoRenderer}: collections whose documents are {@link DirectoryUser}s and {@link GatewayDef}s. */
export interface MongoRenderOptions {
  users: MongoCollectionLike<DirectoryUser & { enabled?: boolean }>;
  gateways?: MongoCollectionLike<GatewayDef & { enabled?: boolean }>;
}

/** Renders users and gateways kept as MongoDB documents (`enabled: false` ones are left out). */
export function mongoRenderer(options: MongoRenderOptions): () => Promise<ConfigFiles> {
  return async () => {
    const users = await options.users.find({ enabled: { $ne: false } }).toArray();
    const gateways = options.gateways
      ? await options.gateways.find({ enabled: { $ne: false } }).toArray()
      : [];
    return renderDirectoryAndGateways(users, gateways);
  };
}

function block(
  outer: string,
  inner: string,
  values: Record<string, string | null | undefined> | undefined,
): string {
  const entries = Object.entries(values ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (!entries.length) return '';
  const lines = entries
    .map(([k, v]) => `      <${inner} name="${esc(k)}" value="${esc(String(v))}"/>\n`)
    .join('');
  return `    <${outer}>\n${lines}    </${outer}>\n`;
}

function esc(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A name safe as one path segment (a domain or extension with `/` or `..` cannot escape its folder). */
function safeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.@+-]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? `_${safe}` : safe;
}
