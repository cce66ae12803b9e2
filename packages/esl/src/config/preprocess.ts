import { posix } from 'node:path';
import type { ConfigProblem } from './errors.js';
import type { XmlElement } from './xml.js';

/** The document FreeSWITCH would load, and what was found on the way. */
export interface AssembledConfig {
  /** The root `<document>` with every include spliced in and `$${var}` replaced; `undefined` if it failed. */
  root: XmlElement | undefined;
  /** Variables set by `<X-PRE-PROCESS cmd="set">`, in their final state. */
  vars: Record<string, string>;
  /** Files the document includes (the root file too). */
  loaded: Set<string>;
  problems: ConfigProblem[];
}

/** Tree of a file, or `undefined` when it is missing or did not parse (already reported). */
export type TreeOf = (name: string) => XmlElement | undefined;

const VAR = /\$\$\{([^}]*)\}/g;
// Commands that set a variable from something only the node knows (a command's output, the environment).
const OPAQUE_SET = new Set(['exec-set', 'env-set', 'stun-set']);

/**
 * Resolves what FreeSWITCH's preprocessor does before parsing: `<X-PRE-PROCESS cmd="include" data="glob"/>`
 * (relative to the including file's folder, matches in name order, an `<include>` wrapper dropped) and
 * `cmd="set" data="name=value"` with `$${name}` replaced in every later attribute and text. Because every file
 * was parsed on its own first, splicing trees gives the same document as FreeSWITCH's textual splicing, except
 * where a variable's value carries markup (`<`, `"`, a bare `&`): that is reported, as it would break the text.
 * Unchanged subtrees are reused as they are, so assembling again after a one-file change copies little.
 */
export function assemble(names: readonly string[], treeOf: TreeOf, rootFile: string): AssembledConfig {
  const out: AssembledConfig = {
    root: undefined,
    vars: Object.create(null),
    loaded: new Set(),
    problems: [],
  };
  const opaque = new Set<string>();
  const including: string[] = [];
  const problem = (el: { file: string; line: number }, message: string) =>
    out.problems.push({ file: el.file, line: el.line, message });

  const substitute = (value: string, el: XmlElement): string => {
    if (!value.includes('$${')) return value;
    return value.replace(VAR, (whole, name: string) => {
      const v = out.vars[name];
      if (v !== undefined) {
        if (/[<"]|&(?!(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);)/.test(v)) {
          problem(el, `$\${${name}} = ${JSON.stringify(v)} would break the XML where it is used`);
        }
        return v;
      }
      if (!opaque.has(name)) problem(el, `$\${${name}} is not set by any X-PRE-PROCESS before it`);
      return whole;
    });
  };

  const includeFile = (name: string, from: XmlElement): XmlElement[] => {
    if (including.includes(name)) {
      problem(from, `include loop: ${[...including, name].join(' -> ')}`);
      return [];
    }
    const tree = treeOf(name);
    out.loaded.add(name);
    if (!tree) return [];
    including.push(name);
    try {
      return tree.name === 'include' ? tree.children.flatMap((c) => expand(c)) : expand(tree);
    } finally {
      including.pop();
    }
  };

  const preprocess = (el: XmlElement): XmlElement[] => {
    const cmd = (el.attrs.cmd ?? '').toLowerCase();
    const data = substitute(el.attrs.data ?? '', el);
    if (cmd === 'set') {
      const eq = data.indexOf('=');
      if (eq <= 0) problem(el, `X-PRE-PROCESS set without name=value: ${JSON.stringify(data)}`);
      else out.vars[data.slice(0, eq).trim()] = data.slice(eq + 1);
      return [];
    }
    if (OPAQUE_SET.has(cmd)) {
      const eq = data.indexOf('=');
      if (eq > 0) opaque.add(data.slice(0, eq).trim());
      return [];
    }
    if (cmd !== 'include') return [];
    const current = including.at(-1) ?? rootFile;
    const pattern = posix.normalize(posix.join(posix.dirname(current), data));
    if (posix.isAbsolute(data) || pattern.startsWith('../')) {
      problem(el, `include ${JSON.stringify(data)} points outside the configuration tree`);
      return [];
    }
    if (!/[*?[]/.test(pattern)) {
      if (!names.includes(pattern)) {
        problem(el, `include ${JSON.stringify(data)}: no file ${pattern}`);
        return [];
      }
      return includeFile(pattern, el);
    }
    const re = globRegExp(pattern);
    return names.filter((n) => re.test(n)).flatMap((n) => includeFile(n, el));
  };

  const expand = (el: XmlElement): XmlElement[] => {
    if (el.name === 'X-PRE-PROCESS') return preprocess(el);
    let attrs = el.attrs;
    for (const key in el.attrs) {
      const value = el.attrs[key] as string;
      const next = substitute(value, el);
      if (next !== value) {
        if (attrs === el.attrs) attrs = { ...el.attrs };
        attrs[key] = next;
      }
    }
    const text = substitute(el.text, el);
    let children = el.children;
    for (let i = 0; i < el.children.length; i++) {
      const child = el.children[i] as XmlElement;
      const expanded = expand(child);
      if (children === el.children && (expanded.length !== 1 || expanded[0] !== child)) {
        children = el.children.slice(0, i);
      }
      if (children !== el.children) children.push(...expanded);
    }
    if (attrs === el.attrs && text === el.text && children === el.children) return [el];
    return [{ ...el, attrs, text, children }];
  };

  const roots = includeFile(rootFile, {
    name: rootFile,
    attrs: {},
    children: [],
    text: '',
    line: 0,
    file: rootFile,
  });
  if (!treeOf(rootFile)) {
    // A root file that exists but did not parse was reported by the parse already.
    if (!names.includes(rootFile))
      out.problems.push({ file: rootFile, line: 0, message: 'the root file is missing' });
  } else if (roots.length !== 1 || roots[0]?.name !== 'document') {
    out.problems.push({
      file: rootFile,
      line: 1,
      message: `the assembled configuration is not one <document> (got ${roots.map((r) => `<${r.name}>`).join(', ') || 'nothing'})`,
    });
  } else {
    out.root = roots[0];
  }
  return out;
}

/** A glob (`*`, `?`, `[...]` within one path segment) as a RegExp over `/`-separated relative names. */
function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
