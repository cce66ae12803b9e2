import type { AmiMessage } from '../protocol/message.js';
import { ConfigActionFailure } from './apply-actions.js';
import { nameValue, strsepAll } from './strsep.js';
import { type ConfigAction, headerIndex } from './update-actions.js';

interface ParsedOptions {
  allowdups: boolean;
  template: boolean;
  ignoreerror: boolean;
  inherit: string | undefined;
  catfilter: string | undefined;
}

// manager.c's handle_updates: options split at commas outside quotes; the three flags compare in any case,
// `inherit` and `catfilter` by prefix, in lower case only, their value ending at the next bare `=`.
function parseOptions(text: string): ParsedOptions {
  const options: ParsedOptions = {
    allowdups: false,
    template: false,
    ignoreerror: false,
    inherit: undefined,
    catfilter: undefined,
  };
  if (text === '') return options;
  for (const token of strsepAll(text, ',')) {
    const lower = token.toLowerCase();
    if (lower === 'allowdups' || lower === 'template' || lower === 'ignoreerror') options[lower] = true;
    else if (token.startsWith('inherit')) options.inherit = nameValue(token).value ?? options.inherit;
    else if (token.startsWith('catfilter')) options.catfilter = nameValue(token).value ?? options.catfilter;
  }
  return options;
}

const ARGUMENT_PROBLEM = 'Problem with category, value, or line (if required)';

/**
 * Reads the changes of an `UpdateConfig` action (`Action-NNNNNN`, `Cat-`, `Var-`, `Value-`, `Match-`, `Line-`,
 * `Options-`) the way manager.c does: numbered from 0 until the first missing `Action-`, a leading `>` in a
 * value meaning `=>`, `Options` split as Asterisk splits them (an unquoted `catfilter=TEMPLATES=include`
 * gives the filter `TEMPLATES`). Yields them one by one, as Asterisk applies them; a malformed one throws
 * {@link ConfigActionFailure} with Asterisk's message when it is reached.
 */
export function* parseConfigActionHeaders(m: AmiMessage): Generator<ConfigAction> {
  for (let x = 0; ; x++) {
    const n = headerIndex(x);
    const action = m.get(`Action-${n}`) ?? '';
    if (action === '') return;
    const category = m.get(`Cat-${n}`) ?? '';
    if (category === '') throw new ConfigActionFailure('Category not specified');
    const key = m.get(`Var-${n}`) ?? '';
    let value = m.get(`Value-${n}`) ?? '';
    const object = value.startsWith('>');
    if (object) value = value.slice(1);
    const match = m.get(`Match-${n}`) || undefined;
    const lineText = m.get(`Line-${n}`) ?? '';
    const options = parseOptions(m.get(`Options-${n}`) ?? '');
    const { catfilter, ignoreerror: ignoreError } = options;
    switch (action.toLowerCase()) {
      case 'newcat':
        yield {
          action: 'NewCat',
          category,
          template: options.template,
          allowDuplicates: options.allowdups,
          ignoreError,
          inherit: options.inherit,
          before: match,
        };
        break;
      case 'renamecat':
        if (value === '') throw new ConfigActionFailure(ARGUMENT_PROBLEM);
        yield { action: 'RenameCat', category, newName: value, catfilter };
        break;
      case 'delcat':
        yield { action: 'DelCat', category, catfilter, ignoreError };
        break;
      case 'emptycat':
        yield { action: 'EmptyCat', category, catfilter };
        break;
      case 'update':
        if (key === '') throw new ConfigActionFailure(ARGUMENT_PROBLEM);
        yield { action: 'Update', category, key, value, match, object, catfilter };
        break;
      case 'delete':
        if (key === '' && lineText === '') throw new ConfigActionFailure(ARGUMENT_PROBLEM);
        yield {
          action: 'Delete',
          category,
          key: key || undefined,
          match,
          line: lineText === '' ? undefined : Number.parseInt(lineText, 10),
          catfilter,
          ignoreError,
        };
        break;
      case 'append':
        if (key === '') throw new ConfigActionFailure(ARGUMENT_PROBLEM);
        yield {
          action: 'Append',
          category,
          key,
          value,
          object: object || match?.toLowerCase() === 'object',
          catfilter,
        };
        break;
      case 'insert':
        if (key === '' || lineText === '') throw new ConfigActionFailure(ARGUMENT_PROBLEM);
        yield { action: 'Insert', category, key, value, line: Number.parseInt(lineText, 10), catfilter };
        break;
      default:
        throw new ConfigActionFailure('Unknown action command');
    }
  }
}
