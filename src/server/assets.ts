import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// The dashboard's files (web/, built by Vite into dist/web by `npm run build`), served by
// `shopctl serve` at `/`. A handful of files, read once at start and kept in memory, each with its
// own exact route: an unknown path is still the API's JSON 404, and nothing is read from disk per
// request. That is why this is not @fastify/static: its wildcard routing, ranges, directory
// handling and per-request file reads are what a dozen built files do not need.

export interface Asset {
  /** The URL path: /assets/index-3f2a.js; index.html is also at /. */
  url: string;
  type: string;
  body: Buffer;
  /** Compressed once at start (text files); null when it would not be smaller. */
  gzip: Buffer | null;
  /** Vite names what it builds by content hash: such a file never changes under its name. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where `npm run build` puts the dashboard: dist/web at the package root (from src/server or dist/server alike). */
export const dashboardDir = (): string => fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Every file under `dir` as an asset (none when the dashboard was not built). */
export async function loadAssets(dir: string): Promise<Asset[]> {
  if (!existsSync(path.join(dir, 'index.html'))) return [];
  const assets: Asset[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, file).split(path.sep).join('/');
    const type = TYPES[path.extname(entry.name).toLowerCase()];
    if (type === undefined || relative.endsWith('.map')) continue;
    const body = await readFile(file);
    const packed = /^(text|application\/json|image\/svg)/.test(type) ? gzipSync(body, { level: 9 }) : null;
    assets.push({
      url: `/${relative}`,
      type,
      body,
      gzip: packed && packed.length < body.length ? packed : null,
      immutable: relative.startsWith('assets/'),
    });
  }
  const index = assets.find((asset) => asset.url === '/index.html');
  if (index) assets.push({ ...index, url: '/' });
  return assets;
}

/** The page's policy: its own scripts, styles and requests only (nothing fetched elsewhere). */
export const DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
