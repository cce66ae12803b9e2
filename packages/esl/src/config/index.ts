export { packFiles, StorePacker, unpackFiles } from './bundle.js';
export { type ConfigProblem, FsConfigError, FsReloadError, type ReloadReply } from './errors.js';
export { type ConfigDiff, ConfigValidator, diffConfig, type ParsedConfig } from './model.js';
export { type PlanOptions, planReload, type ReloadPlan, type ReloadStep, replyProblem } from './plan.js';
export { type AssembledConfig, assemble } from './preprocess.js';
export {
  type DirectoryUser,
  type FusionPbxRenderOptions,
  fusionPbxRenderer,
  type GatewayDef,
  type MongoCollectionLike,
  type MongoRenderOptions,
  mongoRenderer,
  renderDirectoryAndGateways,
} from './render.js';
export { type SectionMap, sectionsOf } from './sections.js';
export {
  type ApplyOptions,
  type ApplyResult,
  type FsApi,
  FsConfigSync,
  type FsConfigSyncOptions,
} from './sync.js';
export { parseXml, type XmlElement, XmlSyntaxError } from './xml.js';
