export { type CdrEncoding, type DecodedCdr, decodeCdrBody, decodeCdrFile } from './decode/transport.js';
export { CdrDecodeError, CdrParseError } from './errors.js';
export { legFromName, normaliseVariableName, type ParseCdrOptions, parseCdr } from './parse/parse-cdr.js';
export { decodeEntities, parseXmlTree, type XmlElement } from './parse/xml-tree.js';
export {
  type CdrApplication,
  type CdrCallflow,
  type CdrHold,
  type CdrLeg,
  type CdrRecord,
  chronologicalCallflows,
} from './record.js';
export type { CdrSink, CdrStore } from './sink.js';
