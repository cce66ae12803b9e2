import { AmiInvalidActionError } from '../errors.js';
import { nameValue, strsepAll } from './strsep.js';

interface Targeted {
  /** The category (`Cat-NNNNNN`). */
  category: string;
  /**
   * `Options: catfilter="..."`: act only on the categories of that name that pass this filter
   * (`name_regex=value_regex[,...]`, see `categoryMatches`), when several share the name; templates are
   * reachable only with `TEMPLATES=include` (or `TEMPLATES=restrict`) in it.
   */
  catfilter?: string;
}

/** One change of an `UpdateConfig`, in the order Asterisk applies them. */
export type ConfigAction =
  | {
      action: 'NewCat';
      category: string;
      /** Create a template (`Options: template`). */
      template?: boolean;
      /**
       * Inherit from these templates, in order (`Options: inherit="a,b"`): each must be a template
       * (`[name](!)`), else Asterisk answers `Template category not found`. A string is one name or a
       * comma-separated list.
       */
      inherit?: string | readonly string[];
      /** Allow a second category of the same name (`Options: allowdups`). */
      allowDuplicates?: boolean;
      /** An existing category of that name is no error: the change is skipped (`Options: ignoreerror`). */
      ignoreError?: boolean;
      /** Insert before the category of this name (`Match`) instead of at the end. */
      before?: string;
    }
  | (Targeted & { action: 'RenameCat'; newName: string })
  | (Targeted & { action: 'DelCat'; ignoreError?: boolean })
  | (Targeted & { action: 'EmptyCat' })
  | (Targeted & {
      action: 'Update';
      key: string;
      value: string;
      /** Update only the line whose current value is this (`Match`); else the last line of `key`. */
      match?: string;
      /** Write `key => value`. */
      object?: boolean;
    })
  | (Targeted & {
      action: 'Delete';
      /** Delete every `key` line (only those whose value is `match`, if given)... */
      key?: string;
      match?: string;
      /** ...or the line at this 0-based index. */
      line?: number;
      ignoreError?: boolean;
    })
  | (Targeted & { action: 'Append'; key: string; value: string; object?: boolean })
  | (Targeted & {
      action: 'Insert';
      key: string;
      value: string;
      /** 0-based position among the category's lines. */
      line: number;
    });

/**
 * A typed builder of `UpdateConfig` changes.
 *
 * @example
 * ```ts
 * const changes = new ConfigUpdate()
 *   .newCategory('1005', { inherit: 'tmpl' })
 *   .append('1005', 'secret', 'n3w-s3cret')
 *   .append('1005', 'allow', 'ulaw')
 *   .update('1004', 'callerid', 'Dave D <1004>')
 *   .delete('1003', 'allow', { match: 'g722' });
 * await ami.updateConfig('sip_additional.conf', 'sip_additional.conf', changes, { reload: 'chan_sip' });
 * ```
 */
export class ConfigUpdate {
  /** The changes, in order. */
  readonly actions: ConfigAction[] = [];

  /** `NewCat`: a category (or template) at the end, or before `options.before`. */
  newCategory(
    category: string,
    options: {
      template?: boolean;
      inherit?: string | readonly string[];
      allowDuplicates?: boolean;
      ignoreError?: boolean;
      before?: string;
    } = {},
  ): this {
    return this.push({ action: 'NewCat', category, ...options });
  }

  /** `RenameCat`. */
  renameCategory(category: string, newName: string, options: { catfilter?: string } = {}): this {
    return this.push({ action: 'RenameCat', category, newName, ...options });
  }

  /** `DelCat`. */
  deleteCategory(category: string, options: { catfilter?: string; ignoreError?: boolean } = {}): this {
    return this.push({ action: 'DelCat', category, ...options });
  }

  /** `EmptyCat`: remove every line, keep the category. */
  emptyCategory(category: string, options: { catfilter?: string } = {}): this {
    return this.push({ action: 'EmptyCat', category, ...options });
  }

  /** `Update`: set the last `key` line (or the one whose value is `match`). */
  update(
    category: string,
    key: string,
    value: string,
    options: { match?: string; object?: boolean; catfilter?: string } = {},
  ): this {
    return this.push({ action: 'Update', category, key, value, ...options });
  }

  /** `Delete` every `key` line (or only those whose value is `match`). */
  delete(
    category: string,
    key: string,
    options: { match?: string; catfilter?: string; ignoreError?: boolean } = {},
  ): this {
    return this.push({ action: 'Delete', category, key, ...options });
  }

  /** `Delete` the line at 0-based `line`. */
  deleteLine(category: string, line: number, options: { catfilter?: string } = {}): this {
    return this.push({ action: 'Delete', category, line, ...options });
  }

  /** `Append` a `key=value` line (repeated keys such as `allow` are fine). */
  append(
    category: string,
    key: string,
    value: string,
    options: { object?: boolean; catfilter?: string } = {},
  ): this {
    return this.push({ action: 'Append', category, key, value, ...options });
  }

  /** `Insert` a `key=value` line at 0-based `line`. */
  insert(
    category: string,
    key: string,
    value: string,
    line: number,
    options: { catfilter?: string } = {},
  ): this {
    return this.push({ action: 'Insert', category, key, value, line, ...options });
  }

  private push(action: ConfigAction): this {
    this.actions.push(action);
    return this;
  }
}

/** The six-digit number of an `UpdateConfig` or `GetConfig` header: `Action-000003`. */
export const headerIndex = (n: number): string => String(n).padStart(6, '0');

/** The templates a `NewCat` inherits, in order. */
export function inheritNames(inherit: string | readonly string[] | undefined): string[] {
  if (inherit === undefined) return [];
  const names = typeof inherit === 'string' ? strsepAll(inherit, ',') : [...inherit];
  return names.filter((n) => n !== '');
}

/** Whether Asterisk reads `encoded` (one option) back as `value`. */
function readsBackAs(encoded: string, value: string): boolean {
  const [term] = strsepAll(encoded, ',');
  return term === encoded && nameValue(term).value === value;
}

/**
 * `name=value` as an option Asterisk reads back whole. It splits `Options` at every `,` and the option at
 * every `=` outside quotes, so a value holding either (`catfilter=TEMPLATES=include` reaches Asterisk as
 * `TEMPLATES`) goes inside quotes. A value that no quoting carries through unchanged is refused.
 */
function option(name: string, value: string): string {
  const plain = `${name}=${value}`;
  if (readsBackAs(plain, value)) return plain;
  const quote = value.includes('"') ? "'" : '"';
  const quoted = `${name}=${quote}${value}${quote}`;
  if (readsBackAs(quoted, value)) return quoted;
  throw new AmiInvalidActionError(`${name} ${JSON.stringify(value)} cannot be sent in UpdateConfig Options`);
}

function optionsOf(a: ConfigAction): string[] {
  const options: string[] = [];
  if (a.action === 'NewCat') {
    if (a.template) options.push('template');
    if (a.allowDuplicates) options.push('allowdups');
    if (a.ignoreError) options.push('ignoreerror');
    const inherit = inheritNames(a.inherit);
    if (inherit.length > 0) options.push(option('inherit', inherit.join(',')));
  } else {
    if ('value' in a && !('object' in a && a.object) && a.value.startsWith('>')) {
      throw new AmiInvalidActionError(
        `${a.action} value ${JSON.stringify(a.value)}: Asterisk reads a leading '>' as '=>'`,
      );
    }
    if (a.catfilter) options.push(option('catfilter', a.catfilter));
    if ((a.action === 'DelCat' || a.action === 'Delete') && a.ignoreError) options.push('ignoreerror');
  }
  return options;
}

/**
 * The `Action-NNNNNN`, `Cat-`, `Var-`, `Value-`, `Match-`, `Line-` and `Options-` headers of `actions`,
 * numbered from `first`.
 */
export function configActionHeaders(actions: readonly ConfigAction[], first = 0): Record<string, string> {
  const fields: Record<string, string> = {};
  actions.forEach((a, i) => {
    const n = headerIndex(first + i);
    fields[`Action-${n}`] = a.action;
    fields[`Cat-${n}`] = a.category;
    switch (a.action) {
      case 'NewCat':
        if (a.before) fields[`Match-${n}`] = a.before;
        break;
      case 'RenameCat':
        fields[`Value-${n}`] = a.newName;
        break;
      case 'Update':
      case 'Append':
        fields[`Var-${n}`] = a.key;
        // A leading `>` in the value is how AMI asks for an object (`=>`) line.
        fields[`Value-${n}`] = a.object ? `>${a.value}` : a.value;
        if (a.action === 'Update' && a.match !== undefined) fields[`Match-${n}`] = a.match;
        break;
      case 'Delete':
        if (a.key !== undefined) fields[`Var-${n}`] = a.key;
        if (a.match !== undefined) fields[`Match-${n}`] = a.match;
        if (a.line !== undefined) fields[`Line-${n}`] = String(a.line);
        break;
      case 'Insert':
        fields[`Var-${n}`] = a.key;
        fields[`Value-${n}`] = a.value;
        fields[`Line-${n}`] = String(a.line);
        break;
      default:
        break;
    }
    const options = optionsOf(a);
    if (options.length > 0) fields[`Options-${n}`] = options.join(',');
  });
  return fields;
}

/**
 * Splits `actions` into consecutive groups of at most `maxHeaders` headers each (Asterisk reads 128 per
 * action), keeping their order. Validates every action first, so nothing is sent when one is invalid.
 */
export function batchConfigActions(actions: readonly ConfigAction[], maxHeaders: number): ConfigAction[][] {
  const batches: ConfigAction[][] = [[]];
  let used = 0;
  for (const action of actions) {
    const n = Object.keys(configActionHeaders([action])).length;
    const batch = batches.at(-1) as ConfigAction[];
    if (used + n > maxHeaders && batch.length > 0) {
      batches.push([action]);
      used = n;
    } else {
      batch.push(action);
      used += n;
    }
  }
  return batches;
}
