import type { AmiMessage } from '../protocol/message.js';
import { ConfCategory, type ConfCategoryOptions } from './conf-category.js';
import type { ConfLine } from './conf-lines.js';
import { parseConfText } from './conf-parse.js';
import { confFromGetConfig } from './getconfig.js';
import { markInherited, resolveInheritance } from './inheritance.js';

/**
 * An Asterisk `.conf` file as ordered categories of ordered lines.
 *
 * Read one from text with {@link ConfFile.parse} (lossless: `toString()` gives the same bytes back until
 * you change something) or from a running Asterisk with `AmiClient.getConfig`. Category names compare
 * case-insensitively, as in Asterisk; names may repeat (two `[general]` sections are two categories).
 *
 * @example
 * ```ts
 * const conf = ConfFile.parse(readFileSync('/etc/asterisk/pjsip.conf', 'utf8'));
 * conf.category('6001')?.set('context', 'from-internal');
 * writeFileSync('/etc/asterisk/pjsip.conf', conf.toString());
 * ```
 */
export class ConfFile {
  /** Lines before the first category (comments, `#include`s). */
  preamble: ConfLine[] = [];
  /** Categories in file order. */
  categories: ConfCategory[] = [];
  /** Line ending for lines added later: the one the parsed text mostly used, else `\n`. */
  eol = '\n';

  /** Parses `.conf` text (see `parseConfText` for the rules); throws `AmiConfigParseError` on bad syntax. */
  static parse(text: string): ConfFile {
    const parsed = parseConfText(text);
    const file = new ConfFile();
    file.preamble = parsed.preamble;
    file.categories = parsed.categories;
    file.eol = parsed.eol;
    return file;
  }

  /**
   * Builds a file from a `GetConfig` response (`Category-NNNNNN`, `IsTemplate-NNNNNN`, `Templates-NNNNNN`,
   * `Line-CCCCCC-LLLLLL`). A response with `No categories found` gives an empty file.
   *
   * `GetConfig` shows the lines a category inherits inside it, before its own, marked nowhere. They are
   * marked `inherited` (so `toString()` writes only the category's own lines) when the templates they came
   * from are in the response or in `templates` (`AmiClient.getConfig` fetches the missing ones).
   */
  static fromGetConfig(response: AmiMessage, templates: Iterable<ConfCategory> = []): ConfFile {
    const file = new ConfFile();
    file.categories = confFromGetConfig(response);
    const known = [...file.categories, ...templates];
    markInherited(file.categories, (name) => {
      const lower = name.toLowerCase();
      return known.find((c) => c.name.toLowerCase() === lower);
    });
    return file;
  }

  /**
   * A copy of the file as Asterisk loads it (and `GetConfig` shows it): each category that names templates
   * holds a copy of their lines, marked `inherited`, before its own; `[x](+)` sections are merged into the
   * first `[x]`; `key += more` lines extend the line they add to. `toString()` of the copy still writes only
   * what a file holds. Throws `AmiConfigParseError` where Asterisk refuses the file (a template or `(+)`
   * target that does not exist earlier in the file).
   */
  withInheritance(): ConfFile {
    const copy = ConfFile.parse(this.toString());
    copy.categories = resolveInheritance(copy.preamble.length, copy.categories);
    return copy;
  }

  /** The first category named `name` (any case). */
  category(name: string): ConfCategory | undefined {
    const lower = name.toLowerCase();
    return this.categories.find((c) => c.name.toLowerCase() === lower);
  }

  /** Every category named `name` (any case), in order. */
  categoriesNamed(name: string): ConfCategory[] {
    const lower = name.toLowerCase();
    return this.categories.filter((c) => c.name.toLowerCase() === lower);
  }

  /** Category names in order. */
  get names(): string[] {
    return this.categories.map((c) => c.name);
  }

  /** Adds a category at the end, or before the first category named `before`. */
  addCategory(name: string, options: ConfCategoryOptions & { before?: string } = {}): ConfCategory {
    const category = new ConfCategory(name, options);
    const lower = options.before?.toLowerCase();
    const at = lower === undefined ? -1 : this.categories.findIndex((c) => c.name.toLowerCase() === lower);
    if (at === -1) this.categories.push(category);
    else this.categories.splice(at, 0, category);
    return category;
  }

  /** Removes every category named `name`; returns how many. */
  removeCategory(name: string): number {
    const lower = name.toLowerCase();
    const before = this.categories.length;
    this.categories = this.categories.filter((c) => c.name.toLowerCase() !== lower);
    return before - this.categories.length;
  }

  /**
   * The file as text: unchanged lines exactly as read, changed and new ones rendered, inherited lines left
   * out (they belong to their template).
   */
  toString(): string {
    const parts: Array<[string, string | undefined]> = [];
    for (const line of this.preamble) parts.push([line.toString(), line.eol]);
    for (const category of this.categories) {
      parts.push([category.header(), category.eol]);
      for (const line of category.lines) {
        // An inherited line lives in the template, not in this category's part of the file.
        if (line.kind !== 'variable' || !line.inherited) parts.push([line.toString(), line.eol]);
      }
    }
    let out = '';
    const last = parts.length - 1;
    parts.forEach(([text, eol], i) => {
      // A line read without an ending was the last one; if lines now follow it, it needs one.
      out += text + (eol === undefined || (eol === '' && i !== last) ? this.eol : eol);
    });
    return out;
  }
}
