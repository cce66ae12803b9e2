import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

/**
 * An allow-list of networks: `10.0.0.0/8`, `2001:db8::/32`, or plain addresses (`127.0.0.1`, `::1`). IPv4
 * clients seen as IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`, as a dual-stack server reports them) match
 * the IPv4 networks.
 */
export function createAllowList(cidrs: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', prefixText] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0) throw new RangeError(`allow: ${JSON.stringify(entry)} is not an IP address or CIDR`);
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new RangeError(`allow: ${JSON.stringify(entry)} has an invalid prefix length`);
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return (address) => {
    if (!address) return false;
    const family = isIP(address);
    if (family === 0) return false;
    if (list.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    // BlockList matches IPv4-mapped IPv6 against IPv4 rules already on recent Node versions; be explicit.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped?.[1] !== undefined && list.check(mapped[1], 'ipv4');
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Checks an `Authorization: Basic ...` header against the expected user and password (mod_xml_cdr's `cred`
 * `user:pass`), in constant time with respect to their content.
 */
export function createBasicAuth(credentials: {
  username: string;
  password: string;
}): (header: string | undefined) => boolean {
  const user = digest(credentials.username);
  const pass = digest(credentials.password);
  return (header) => {
    const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? '');
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const givenUser = colon === -1 ? '' : decoded.slice(0, colon);
    const givenPass = colon === -1 ? '' : decoded.slice(colon + 1);
    // Both comparisons always run: `&` rather than `&&`.
    const ok =
      Number(timingSafeEqual(digest(givenUser), user)) & Number(timingSafeEqual(digest(givenPass), pass));
    return ok === 1 && colon !== -1;
  };
}
