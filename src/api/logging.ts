/**
 * The server's structured logs: JSON lines through Fastify's bundled pino, one per request and
 * response with a request id (reqId), and errors. They must never hold health data, tokens or
 * keys, so a request is logged as its method and route pattern only (`/fhir/:type`, never the
 * URL: a FHIR query string can carry a patient's name), and headers and bodies are left out,
 * with the Authorization and Cookie headers redacted should anything add them back.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** false: no logs; true: JSON lines on stdout; or a stream to write them to (tests capture them). */
export type ServerLogger = boolean | { readonly stream: NodeJS.WritableStream };

/** Fastify's logger option for `logger`. */
export function loggerOptions(logger: ServerLogger): NonNullable<FastifyServerOptions['logger']> {
  if (logger === false) return false;
  return {
    level: 'info',
    ...(logger === true ? {} : { stream: logger.stream }),
    serializers: {
      req: requestSummary,
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.query',
        'req.body',
        'req.url',
      ],
      censor: '[redacted]',
    },
  };
}

/** What a request contributes to the log: never its URL, query, headers or body. */
function requestSummary(request: FastifyRequest): {
  method: string;
  route: string;
  remoteAddress: string;
} {
  return {
    method: request.method,
    route: request.routeOptions?.url ?? '(no route)',
    remoteAddress: request.ip,
  };
}
