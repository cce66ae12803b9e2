import { PbxkitError } from './errors.js';

/**
 * An optional peer dependency that a feature needs is not installed. `code` is `MISSING_DEPENDENCY`;
 * `dependency` is the npm package to install.
 */
export class MissingDependencyError extends PbxkitError {
  /** The npm package to install, e.g. `mongodb`. */
  readonly dependency: string;

  constructor(dependency: string, usedBy: string, options?: { cause?: unknown }) {
    super(
      'MISSING_DEPENDENCY',
      `${usedBy} needs the npm package "${dependency}", which is not installed: run \`npm install ${dependency}\``,
      options,
    );
    this.dependency = dependency;
  }
}

/**
 * Loads an optional peer dependency on first use, so that a package can offer a feature (the MongoDB sink, the
 * PostgreSQL driver) without making everyone install it. `load` is the caller's own `() => import('name')`:
 * the import must be written in the package that declares the peer, since that is where it resolves. A
 * missing package becomes a {@link MissingDependencyError} saying what to install; any other failure (the
 * package is there but broken) is passed on as it is.
 *
 * @example
 * ```ts
 * const { MongoClient } = await importOptional('mongodb', 'MongoCdrSink', () => import('mongodb'));
 * ```
 */
export async function importOptional<M>(name: string, usedBy: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (err) {
    if (isNotFound(err, name)) throw new MissingDependencyError(name, usedBy, { cause: err });
    throw err;
  }
}

/** Node says "not found" as ERR_MODULE_NOT_FOUND (import) or MODULE_NOT_FOUND (require), naming the package. */
function isNotFound(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Only when the package itself is missing, not one of its own dependencies.
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}
