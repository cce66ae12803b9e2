import { parseXmlTree, type XmlElement } from '../parse/xml-tree.js';
import type { CdrRecord } from '../record.js';

const NO_LEAF_PARENTS: ReadonlySet<string> = new Set();

function convert(element: XmlElement): unknown {
  const out: Record<string, unknown> = {};
  if (element.attrs) out['@attributes'] = { ...element.attrs };
  if (element.children.length === 0) {
    if (!element.attrs) return element.text === '' ? {} : element.text;
    if (element.text !== '') out['0'] = element.text;
    return out;
  }
  const groups = new Map<string, unknown[]>();
  for (const c of element.children) {
    const list = groups.get(c.name);
    if (list) list.push(convert(c));
    else groups.set(c.name, [convert(c)]);
  }
  for (const [name, values] of groups) out[name] = values.length === 1 ? values[0] : values;
  return out;
}

/**
 * The JSON copy of a CDR in the shape FusionPBX stores in `v_xml_cdr_json.json` (PHP's `json_encode` of the
 * SimpleXML document): the root's attributes under `@attributes`, one child → an object, repeated children →
 * an array, an empty element → `{}`, and values still URL-encoded as in the XML (FusionPBX's pages decode them
 * on display).
 */
export function toFusionPbxJson(record: Pick<CdrRecord, 'xml'>): Record<string, unknown> {
  const converted = convert(parseXmlTree(record.xml, NO_LEAF_PARENTS));
  return typeof converted === 'object' && converted !== null ? (converted as Record<string, unknown>) : {};
}
