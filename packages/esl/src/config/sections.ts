import { createHash } from 'node:crypto';
import type { XmlElement } from './xml.js';

/**
 * The parts of a FreeSWITCH configuration that reload separately, keyed by where they are:
 *
 * | key | part |
 * |---|---|
 * | `directory/<domain>` | a domain's params and variables (its users and groups apart) |
 * | `directory/<domain>/user/<id>` | one user |
 * | `directory/<domain>/group/<name>` | a group's member list |
 * | `dialplan/<context>` | a context's own attributes |
 * | `dialplan/<context>/extension/<name>` | one extension (`#2` after the name for a repeated name) |
 * | `sofia/<profile>` | a profile without its gateways |
 * | `sofia/<profile>/gateway/<name>` | one gateway |
 * | `callcenter/queue/<name>` | one mod_callcenter queue |
 * | `config/<name>.conf` | any other `autoload_configs` module (for sofia and callcenter: the rest of the file) |
 * | `<section>` | any other section (`phrases`, `languages`, `chatplan`) whole |
 *
 * Each maps to a hash of its content (attributes in name order, so reordering attributes is no change).
 */
export type SectionMap = Map<string, string>;

const hashes = new WeakMap<XmlElement, string>();

/** The sections of an assembled `<document>`. */
export function sectionsOf(document: XmlElement): SectionMap {
  const map: SectionMap = new Map();
  for (const section of document.children) {
    if (section.name !== 'section') continue;
    const name = section.attrs.name ?? '';
    if (name === 'directory') directory(section, map);
    else if (name === 'dialplan') dialplan(section, map);
    else if (name === 'configuration') configuration(section, map);
    else map.set(name, hashOf(section));
  }
  return map;
}

function directory(section: XmlElement, map: SectionMap): void {
  for (const domain of section.children) {
    if (domain.name !== 'domain') continue;
    const key = `directory/${domain.attrs.name ?? ''}`;
    const rest: XmlElement[] = [];
    for (const child of domain.children) {
      if (child.name === 'users') users(child, key, map);
      else if (child.name === 'groups') {
        for (const group of child.children) {
          if (group.name !== 'group') continue;
          const members: string[] = [];
          for (const list of group.children) {
            if (list.name !== 'users') continue;
            for (const user of list.children) if (user.name === 'user') members.push(user.attrs.id ?? '');
            users(list, key, map);
          }
          const rest2 = group.children.filter((c) => c.name !== 'users');
          map.set(
            `${key}/group/${group.attrs.name ?? ''}`,
            hashParts(members.join(','), ...rest2.map(hashOf)),
          );
        }
      } else rest.push(child);
    }
    map.set(key, hashParts(attrsText(domain), ...rest.map(hashOf)));
  }
}

function users(list: XmlElement, key: string, map: SectionMap): void {
  for (const user of list.children) {
    // A pointer (`type="pointer"`) only names a user defined elsewhere: the group's list covers it.
    if (user.name !== 'user' || user.attrs.type === 'pointer') continue;
    map.set(`${key}/user/${user.attrs.id ?? ''}`, hashOf(user));
  }
}

function dialplan(section: XmlElement, map: SectionMap): void {
  for (const context of section.children) {
    if (context.name !== 'context') continue;
    const key = `dialplan/${context.attrs.name ?? ''}`;
    const seen = new Map<string, number>();
    const rest: XmlElement[] = [];
    for (const ext of context.children) {
      if (ext.name !== 'extension') {
        rest.push(ext);
        continue;
      }
      const name = ext.attrs.name ?? '';
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      map.set(`${key}/extension/${name}${n > 1 ? `#${n}` : ''}`, hashOf(ext));
    }
    map.set(key, hashParts(attrsText(context), ...rest.map(hashOf)));
  }
}

function configuration(section: XmlElement, map: SectionMap): void {
  for (const conf of section.children) {
    if (conf.name !== 'configuration') continue;
    const name = conf.attrs.name ?? '';
    if (name === 'sofia.conf') sofia(conf, map);
    else if (name === 'callcenter.conf') callcenter(conf, map);
    else map.set(`config/${name}`, hashOf(conf));
  }
}

function sofia(conf: XmlElement, map: SectionMap): void {
  const rest = splitLists(conf, 'profiles', 'profile', map, (profile) => {
    const key = `sofia/${profile.attrs.name ?? ''}`;
    const own = splitLists(profile, 'gateways', 'gateway', map, (gw) => {
      map.set(`${key}/gateway/${gw.attrs.name ?? ''}`, hashOf(gw));
    });
    map.set(key, hashParts(attrsText(profile), ...own.map(hashOf)));
  });
  map.set('config/sofia.conf', hashParts(...rest.map(hashOf)));
}

function callcenter(conf: XmlElement, map: SectionMap): void {
  const rest = splitLists(conf, 'queues', 'queue', map, (queue) => {
    map.set(`callcenter/queue/${queue.attrs.name ?? ''}`, hashOf(queue));
  });
  map.set('config/callcenter.conf', hashParts(...rest.map(hashOf)));
}

/** Hands each `<item>` of the `<list>` children of `parent` to `each`; returns the other children. */
function splitLists(
  parent: XmlElement,
  list: string,
  item: string,
  map: SectionMap,
  each: (el: XmlElement, map: SectionMap) => void,
): XmlElement[] {
  const rest: XmlElement[] = [];
  for (const child of parent.children) {
    if (child.name !== list) rest.push(child);
    else for (const el of child.children) if (el.name === item) each(el, map);
  }
  return rest;
}

/** A hash of an element and everything inside, memoized per element object (unchanged trees are reused). */
function hashOf(el: XmlElement): string {
  let h = hashes.get(el);
  if (h === undefined) {
    h = hashParts(el.name, attrsText(el), el.text, ...el.children.map(hashOf));
    hashes.set(el, h);
  }
  return h;
}

function attrsText(el: XmlElement): string {
  return Object.keys(el.attrs)
    .sort()
    .map((k) => `${k}=${JSON.stringify(el.attrs[k])}`)
    .join(' ');
}

function hashParts(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('base64');
}
