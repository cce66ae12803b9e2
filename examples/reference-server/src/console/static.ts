import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `pnpm build` (scripts/build-console.mjs) writes the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** The pages of the console: each view has its own URL, all served by the same `index.html`. */
const PAGE = /^\/(?:|search|pipeline|calls\/[0-9a-fA-F-]{36})$/;
const ASSET = /^\/assets\/[A-Za-z0-9._-]+$/;

/**
 * Headers of every console response: scripts, styles and media from this server only (no CDN, no inline
 * script), not framed, no referrer leaving it.
 */
const SECURITY = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** True for the paths the console's static files answer (pages and `/assets/…`). */
export function isConsolePath(path: string): boolean {
  return PAGE.test(path) || ASSET.test(path);
}

/**
 * Serves the built console: `index.html` for every page URL (`no-cache`: a new build shows at once), the
 * hashed assets for a year. Files are read once and kept (a build is a few tens of KB).
 */
export function createStaticHandler(dir = CONSOLE_DIST) {
  const cache = new Map<string, Buffer>();
  const load = async (name: string): Promise<Buffer | undefined> => {
    const hit = cache.get(name);
    if (hit) return hit;
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    if (bytes) cache.set(name, bytes);
    return bytes;
  };
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const page = PAGE.test(path);
    const name = page ? 'index.html' : path.slice(1);
    const bytes = await load(name);
    if (!bytes) {
      const text = page
        ? 'The console is not built: run `pnpm build` (or `pnpm start`, which builds it) in the repository.\n'
        : 'not found\n';
      res.writeHead(page ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY });
      res.end(text);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'content-length': bytes.length,
      'cache-control': page ? 'no-cache' : 'public, max-age=31536000, immutable',
      ...SECURITY,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };
}
