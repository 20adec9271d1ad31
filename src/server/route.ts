import type { z } from 'zod';

// A route is declared once: its method and path, the schemas of what it takes and answers, and
// its handler. server/app.ts registers it with Fastify (parsing each part with its schema first);
// server/openapi.ts describes it in /openapi.json. Nothing is said twice.

export type Method = 'get' | 'post' | 'delete';

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Parsed<Q, P, B> {
  query: Q;
  params: P;
  body: B;
  /** The request's id (also in the x-request-id header). */
  id: string;
}

type Obj = z.AnyZodObject | z.ZodEffects<z.AnyZodObject>;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodTypeAny;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec<Q = unknown, P = unknown, B = unknown> {
  method: Method;
  /** OpenAPI style: /reservation/{id}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** A writing endpoint: asks for the bearer token when the server has one. */
  writes: boolean;
  query?: Obj;
  params?: Obj;
  /** `forms`: also multipart/form-data and application/x-www-form-urlencoded (fields are text). */
  body?: { schema: z.AnyZodObject; forms: boolean; description?: string };
  responses: Record<number, ResponseSpec>;
  handler: (request: Parsed<Q, P, B>) => Promise<Answer>;
  /** Answers itself on the raw reply (a stream): `handler` is not called. */
  stream?: boolean;
}

/** Declares a route, inferring the parsed types from the schemas. */
export function route<QS extends Obj | undefined = undefined, PS extends Obj | undefined = undefined, BS extends z.AnyZodObject | undefined = undefined>(
  spec: Omit<RouteSpec, 'query' | 'params' | 'body' | 'handler'> & {
    query?: QS;
    params?: PS;
    body?: { schema: NonNullable<BS>; forms: boolean; description?: string };
    handler: (request: Parsed<Infer<QS>, Infer<PS>, Infer<BS>>) => Promise<Answer>;
  },
): RouteSpec {
  return spec as unknown as RouteSpec;
}

type Infer<S> = S extends z.ZodTypeAny ? z.output<S> : undefined;

/** The Fastify form of a path: /reservation/{id} -> /reservation/:id. */
export const fastifyPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');
