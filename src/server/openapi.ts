import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { errorSchema } from './schemas.js';
import type { RouteSpec } from './route.js';

// /openapi.json: every route as declared (server/routes.ts), from the same zod schemas that check
// its requests. The document says what this server asks: a bearer token on writing endpoints
// (and on reads with tokenReads) only when it has one.

export interface DocumentOptions {
  version: string;
  token: boolean;
  tokenReads: boolean;
}

const FORMS = ['multipart/form-data', 'application/x-www-form-urlencoded'] as const;

export function openApiDocument(specs: readonly RouteSpec[], options: DocumentOptions): object {
  const registry = new OpenAPIRegistry();
  const bearer = options.token ? registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' }) : null;
  for (const spec of specs) {
    const secured = bearer !== null && (spec.writes || options.tokenReads) && spec.path !== '/healthz';
    const responses: RouteConfig['responses'] = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers ? { headers: Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
        ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } } : {}),
      };
    }
    if (secured) responses['401'] = { description: 'no token, or not the right one', content: { 'application/json': { schema: errorSchema } } };
    responses.default = { description: 'an error: 413 too large, 415 unsupported media type, 503 a service is away, …', content: { 'application/json': { schema: errorSchema } } };
    const body = spec.body;
    registry.registerPath({
      method: spec.method,
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      request: {
        ...(spec.query ? { query: spec.query as never } : {}),
        ...(spec.params ? { params: spec.params as never } : {}),
        ...(body
          ? {
              body: {
                required: true,
                ...(body.description ? { description: body.description } : {}),
                content: Object.fromEntries(['application/json', ...(body.forms ? FORMS : [])].map((type) => [type, { schema: body.schema }])),
              },
            }
          : {}),
      },
      responses,
      ...(secured ? { security: [{ [bearer.name]: [] }] } : {}),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'shopctl',
      version: options.version,
      description:
        'The HTTP face of shopctl (`shopctl serve`): the same projection and the same rules as the command line. Errors are always `{ "error": { "code", "message", "details" } }`.',
    },
  });
}
