import {
  batchConfigActions,
  type ConfigAction,
  ConfigUpdate,
  configActionHeaders,
} from '../config/update-actions.js';
import { type AmiActionFields, MAX_ACTION_HEADERS } from '../protocol/serialize.js';

/** Options of `AmiClient.updateConfig`. */
export interface UpdateConfigOptions {
  /** `true` reloads everything after the write; a module name (`'res_pjsip.so'`) reloads that module. */
  reload?: boolean | string;
  /** `PreserveEffectiveContext`: whether Asterisk keeps the effective context of templated categories. */
  preserveEffectiveContext?: boolean;
}

/**
 * The `UpdateConfig` actions that apply `changes`: one, or several when the changes need more than the
 * 128 headers Asterisk reads per action. The first reads `srcFilename`, the others the `dstFilename` the
 * previous one wrote; only the last asks for the reload. Every change is validated before any is returned.
 */
export function updateConfigActions(
  srcFilename: string,
  dstFilename: string,
  changes: ConfigUpdate | readonly ConfigAction[],
  options: UpdateConfigOptions = {},
): AmiActionFields[] {
  const list = changes instanceof ConfigUpdate ? changes.actions : changes;
  // Action, ActionID, SrcFilename, DstFilename, Reload and PreserveEffectiveContext come with each batch.
  const batches = batchConfigActions(list, MAX_ACTION_HEADERS - 6);
  const reload = options.reload === true ? 'yes' : options.reload || undefined;
  const preserve = options.preserveEffectiveContext;
  return batches.map((batch, i) => ({
    Action: 'UpdateConfig',
    SrcFilename: i === 0 ? srcFilename : dstFilename,
    DstFilename: dstFilename,
    ...configActionHeaders(batch),
    Reload: i === batches.length - 1 ? reload : undefined,
    PreserveEffectiveContext: preserve === undefined ? undefined : preserve ? 'yes' : 'no',
  }));
}
