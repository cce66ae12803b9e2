/** Escapes what Asterisk would otherwise read as a comment: `;` becomes `\;`. */
export function escapeConfValue(value: string): string {
  return value.replace(/(?<!\\);/g, '\\;');
}

/** `key=value` (or `key => value` for an object line), as written into a category. */
function renderVariable(key: string, value: string, object: boolean): string {
  return object ? `${key} => ${escapeConfValue(value)}` : `${key}=${escapeConfValue(value)}`;
}

/**
 * A `key = value` line of a category. Repeated keys (`allow`, `permit`, dialplan `exten =>`) are separate
 * lines, in file order. Unchanged lines serialise exactly as read; changed or new ones as `key=value`
 * (`key => value` when {@link ConfVariable.object}), keeping the line's trailing comment.
 */
export class ConfVariable {
  readonly kind = 'variable' as const;
  /** The name, left of the first `=`, trimmed. */
  key: string;
  /** The value, right of the `=` (or `=>`), trimmed, with `\;` unescaped to `;`. */
  value: string;
  /** True for `key => value` (Asterisk's "object" lines, as in `exten =>`). */
  object: boolean;
  /** True for `key += value`, which Asterisk appends to the previous value of `key`. */
  readonly append: boolean;
  /** The comment after the value, as written (`  ; why`), or `''`. */
  comment: string;
  /** The line ending read (`\n`, `\r\n`, `''` for a last line without one); `undefined`: the file's. */
  eol: string | undefined;
  /**
   * The template this line came from, for a line a category inherits (Asterisk copies a template's lines
   * into each category that names it, and `GetConfig` shows them there, before the category's own);
   * `undefined` for a line of the category itself. Set `undefined` to make the line the category's own.
   */
  inheritedFrom: string | undefined;
  private readonly original: { raw: string; key: string; value: string; object: boolean } | undefined;
  private readonly inheritedAs: { key: string; value: string; object: boolean } | undefined;

  constructor(
    key: string,
    value: string,
    options: {
      object?: boolean;
      append?: boolean;
      comment?: string;
      raw?: string;
      eol?: string;
      inheritedFrom?: string;
    } = {},
  ) {
    this.key = key;
    this.value = value;
    this.object = options.object ?? false;
    this.append = options.append ?? false;
    this.comment = options.comment ?? '';
    this.eol = options.eol;
    this.original =
      options.raw === undefined ? undefined : { raw: options.raw, key, value, object: this.object };
    this.inheritedFrom = options.inheritedFrom;
    this.inheritedAs = options.inheritedFrom === undefined ? undefined : { key, value, object: this.object };
  }

  /**
   * True for a line inherited from a template and left as inherited: the file does not hold it, so
   * `ConfFile.toString()` leaves it out. Changing its key, value or `object` makes it the category's own
   * line (as Asterisk's `Update` does), written where it stands.
   */
  get inherited(): boolean {
    const a = this.inheritedAs;
    return (
      this.inheritedFrom !== undefined &&
      a !== undefined &&
      a.key === this.key &&
      a.value === this.value &&
      a.object === this.object
    );
  }

  /** The line as it goes into the file, without its line ending. */
  toString(): string {
    const o = this.original;
    if (o && o.key === this.key && o.value === this.value && o.object === this.object) return o.raw;
    if (this.append) return `${this.key} += ${escapeConfValue(this.value)}${this.comment}`;
    return `${renderVariable(this.key, this.value, this.object)}${this.comment}`;
  }
}

/** A line Asterisk ignores: blank, a `;` comment, a line inside a `;-- --;` block, or one without `=`. */
export class ConfComment {
  readonly kind = 'comment' as const;
  constructor(
    /** The line exactly as written. */
    readonly text: string,
    /** The line ending read; `undefined`: the file's. */
    public eol?: string,
  ) {}

  toString(): string {
    return this.text;
  }
}

/** `#include`, `#tryinclude` or `#exec`, kept as a directive (never expanded). */
export class ConfDirective {
  readonly kind = 'directive' as const;
  constructor(
    /** `include`, `tryinclude`, `exec` (or another word Asterisk would warn about), lower case. */
    readonly name: string,
    /** The argument as written, quotes or `<>` included. */
    readonly argument: string,
    /** The line exactly as written. */
    readonly text: string,
    /** The line ending read; `undefined`: the file's. */
    public eol?: string,
  ) {}

  /** The file or program named by the argument, without surrounding quotes or `<>`. */
  get target(): string {
    const a = this.argument;
    const close = a.startsWith('"') ? '"' : a.startsWith('<') ? '>' : '';
    return close && a.length > 1 && a.endsWith(close) ? a.slice(1, -1) : a;
  }

  toString(): string {
    return this.text;
  }
}

/** One line of a `.conf` file inside or before a category. */
export type ConfLine = ConfVariable | ConfComment | ConfDirective;
