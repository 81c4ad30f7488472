/**
 * Serves the built web app (web/dist) at `/`: index.html and its hashed assets, read once at
 * start. The app is a SMART client like any other: it talks to /fhir, /ledger and /auth with a
 * bearer token and gets no route of its own. Its pages carry a Content-Security-Policy that lets
 * them load code only from this node and connect only to it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build:web` puts the app. */
export const WEB_APP_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Code and styles from this node only, no framing, no plug-ins, connections to this node only. */
export const WEB_APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

interface WebFile {
  readonly body: Buffer;
  readonly type: string;
}

/** index.html and every file under assets/, by URL path. */
function readApp(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const index = readFileSync(join(dir, 'index.html'));
  files.set('/', { body: index, type: CONTENT_TYPES['.html']! });
  const assets = join(dir, 'assets');
  for (const name of existsSync(assets) ? readdirSync(assets) : []) {
    const type = CONTENT_TYPES[extname(name)];
    if (type !== undefined)
      files.set(`/assets/${name}`, { body: readFileSync(join(assets, name)), type });
  }
  return files;
}

function send(reply: FastifyReply, file: WebFile, immutable: boolean): FastifyReply {
  return reply
    .type(file.type)
    .header('content-security-policy', WEB_APP_CSP)
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .send(file.body);
}

/**
 * Registers GET / and GET /assets/* for the app built in `dir`. Without a build, / answers 503
 * saying how to build it; the APIs are served either way.
 */
export function registerWebApp(app: FastifyInstance, dir = WEB_APP_DIR): void {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The web app is not built: run `npm run build:web` (npm ci runs it). The FHIR API is at /fhir.\n',
        ),
    );
    return;
  }
  const files = readApp(dir);
  app.get('/', async (_request, reply) => send(reply, files.get('/')!, false));
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const file = files.get(`/assets/${request.params.name}`);
    if (file === undefined)
      return reply.code(404).send({ error: 'not-found', reason: 'no such asset' });
    return send(reply, file, true);
  });
}
