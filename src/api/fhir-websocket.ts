/**
 * The websocket channel of FHIR Subscriptions (R4 Backport IG, websockets): the owner of a
 * websocket subscription asks `GET /fhir/Subscription/[id]/$get-ws-binding-token`, opens
 * `/fhir/$websocket` and sends `bind-with-token <token>`; notifications then arrive as JSON
 * Bundles. Like every route with health data, the socket is served over TLS or to this machine
 * only; anything else is refused before the upgrade.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { FhirError, type FhirSubscriptions } from '../fhir/index.js';
import { send } from './fhir-json.js';
import type { FhirCaller } from './fhir-routes.js';
import { WEBSOCKET_UNREAD_BYTES_MAX } from '../ledger/index.js';
import { isLoopbackHost } from './transport-guard.js';

const WEBSOCKET_PATH = '/fhir/$websocket';
/** How long a socket may stay unbound before it is closed. */
const BIND_WITHIN_MS = 10_000;

export function registerSubscriptionWebsocket(
  app: FastifyInstance,
  fhir: FastifyInstance,
  subscriptions: FhirSubscriptions,
  callerOf: (request: FastifyRequest) => FhirCaller,
  baseUrl: (request: FastifyRequest) => string,
): void {
  fhir.get<{ Params: { id: string } }>(
    '/Subscription/:id/$get-ws-binding-token',
    async (request, reply) => {
      const caller = callerOf(request);
      if (!caller.allows('Subscription', 'read'))
        throw FhirError.of(
          403,
          'forbidden',
          "the token's scopes do not allow read on Subscription",
        );
      const { token, expiresAt } = subscriptions.bindingToken(caller.principal, request.params.id);
      const websocketUrl = `${baseUrl(request).replace(/^http/, 'ws')}/$websocket`;
      return send(reply, 200, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'token', valueString: token },
          { name: 'expiration', valueDateTime: new Date(expiresAt).toISOString() },
          { name: 'subscription', valueString: request.params.id },
          { name: 'websocket-url', valueUrl: websocketUrl },
        ],
      });
    },
  );
  // A client sends one short line; notifications go the other way.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.url?.split('?')[0] !== WEBSOCKET_PATH) return void socket.destroy();
    const tls = (socket as { encrypted?: boolean }).encrypted === true;
    if (!tls && !isLoopbackHost((socket as { remoteAddress?: string }).remoteAddress ?? '')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (websocket) =>
      bindOnRequest(websocket, subscriptions),
    );
  };
  app.server.on('upgrade', upgrade);
  // Before the HTTP server closes: it waits for every connection, upgraded ones included.
  app.addHook('preClose', async () => {
    app.server.off('upgrade', upgrade);
    for (const client of sockets.clients) client.terminate();
    await new Promise<void>((resolve) => sockets.close(() => resolve()));
  });
}

/** Waits for `bind-with-token <token>`; an unknown token, or none in time, closes the socket. */
function bindOnRequest(websocket: WebSocket, subscriptions: FhirSubscriptions): void {
  // A protocol error (an unmasked frame, an oversized one) is the client's: drop the socket. Without
  // a listener it would be an uncaught exception, ending the node.
  websocket.on('error', () => websocket.terminate());
  const unbound = setTimeout(() => websocket.close(4001, 'not bound in time'), BIND_WITHIN_MS);
  websocket.once('message', (data) => {
    clearTimeout(unbound);
    const match = /^bind-with-token ([0-9a-f]{64})$/.exec(String(data).trim());
    const unbind =
      match === null
        ? undefined
        : subscriptions.bind(match[1]!, (text) => sendOrDrop(websocket, text));
    if (unbind === undefined) return void websocket.close(4003, 'unknown or expired token');
    websocket.on('close', unbind);
  });
}

/** Sends `text`, or ends a socket whose reader has fallen behind by more than a megabyte. */
function sendOrDrop(websocket: WebSocket, text: string): void {
  if (websocket.bufferedAmount > WEBSOCKET_UNREAD_BYTES_MAX) return void websocket.terminate();
  websocket.send(text);
}
