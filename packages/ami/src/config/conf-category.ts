import { type ConfLine, ConfVariable } from './conf-lines.js';

/** Options when creating a category. */
export interface ConfCategoryOptions {
  /** A template (`[name](!)`): not a real section, only inherited from. */
  isTemplate?: boolean;
  /** Templates (or categories) inherited from, in order: `[name](tmpl1,tmpl2)`. */
  templates?: readonly string[];
  /** `[name](+)`: lines added to an earlier category of the same name. */
  append?: boolean;
}

/**
 * A `[section]` of a `.conf` file: its name, template flag, inherited templates, and its lines in order
 * (variables, comments and directives). Repeated keys stay separate lines.
 */
export class ConfCategory {
  name: string;
  isTemplate: boolean;
  templates: string[];
  append: boolean;
  /** Every line after the header, in order, comments included. */
  lines: ConfLine[] = [];
  /** Trailing comment of the header line, as written. */
  comment = '';
  /** Line ending of the header line; `undefined`: the file's. */
  eol: string | undefined;
  private readonly original: { raw: string; header: string } | undefined;

  constructor(name: string, options: ConfCategoryOptions = {}, raw?: string) {
    this.name = name;
    this.isTemplate = options.isTemplate ?? false;
    this.templates = [...(options.templates ?? [])];
    this.append = options.append ?? false;
    this.original = raw === undefined ? undefined : { raw, header: this.renderHeader() };
  }

  /**
   * The variable lines, in order, inherited ones included: a category read through `GetConfig` (or from
   * `ConfFile.withInheritance()`) holds its templates' lines first, marked `inherited`.
   */
  get variables(): ConfVariable[] {
    return this.lines.filter((l): l is ConfVariable => l.kind === 'variable');
  }

  /** The first value of `key` (case-insensitive, as Asterisk compares), or `undefined`. */
  get(key: string): string | undefined {
    const lower = key.toLowerCase();
    return this.variables.find((v) => v.key.toLowerCase() === lower)?.value;
  }

  /** Every value of `key`, in order: `allow`, `permit`, `exten`... */
  getAll(key: string): string[] {
    const lower = key.toLowerCase();
    return this.variables.filter((v) => v.key.toLowerCase() === lower).map((v) => v.value);
  }

  /**
   * Sets the last `key` line (the one that counts for a single-valued option) to `value`, or appends a line
   * if none. Setting an inherited line makes it the category's own, written where it stands (an override).
   * `UpdateConfig`'s `Update` differs: it changes the *first* matching line.
   */
  set(key: string, value: string): this {
    const lower = key.toLowerCase();
    const existing = this.variables.filter((v) => v.key.toLowerCase() === lower).at(-1);
    if (existing) existing.value = value;
    else this.add(key, value);
    return this;
  }

  /** Appends a `key=value` line (another `allow`, say), after the last variable. */
  add(key: string, value: string, options: { object?: boolean } = {}): this {
    const line = new ConfVariable(key, value, { object: options.object });
    let at = this.lines.length;
    while (at > 0 && this.lines[at - 1]?.kind === 'comment' && this.lines[at - 1]?.toString().trim() === '')
      at--;
    this.lines.splice(at, 0, line);
    return this;
  }

  /**
   * Removes the `key` lines (only those whose value equals `value`, if given); returns how many. Removing an
   * inherited line changes nothing in the file: the template still gives it.
   */
  delete(key: string, value?: string): number {
    const lower = key.toLowerCase();
    const before = this.lines.length;
    this.lines = this.lines.filter(
      (l) =>
        l.kind !== 'variable' ||
        l.key.toLowerCase() !== lower ||
        (value !== undefined && l.value.toLowerCase() !== value.toLowerCase()),
    );
    return before - this.lines.length;
  }

  /** The header line as it goes into the file, without its line ending. */
  header(): string {
    const rendered = this.renderHeader();
    if (this.original && this.original.header === rendered) return this.original.raw;
    return `${rendered}${this.comment}`;
  }

  private renderHeader(): string {
    const opts = [...(this.isTemplate ? ['!'] : []), ...(this.append ? ['+'] : []), ...this.templates];
    return `[${this.name}]${opts.length > 0 ? `(${opts.join(',')})` : ''}`;
  }
}
