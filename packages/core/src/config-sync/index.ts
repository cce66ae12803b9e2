export { DirectorySource, type DirectorySourceOptions } from './directory-source.js';
export { ConfigSourceError } from './errors.js';
export { type RunGitOptions, runGit } from './git.js';
export { GitSource, type GitSourceOptions } from './git-source.js';
export { HybridPublisher, type HybridPublisherOptions, type PublishResult } from './hybrid.js';
export { RenderSource, type RenderSourceOptions } from './render-source.js';
export type { AssetRef, ConfigSnapshot, ConfigSource } from './source.js';
export {
  type Forge,
  type PushEvent,
  PushWebhook,
  type PushWebhookOptions,
  type WebhookRequest,
  type WebhookVerdict,
} from './webhook.js';
