/**
 * /fhir/Subscription: create (a handshake goes to the endpoint at once), read, search and delete
 * one's own subscriptions, and $status. Subscriptions are this node's, not the ledger's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FhirError, SERVED_TYPES, type FhirSubscriptions } from '../fhir/index.js';
import { jsonBody, send } from './fhir-json.js';
import type { FhirCaller, FhirInteraction } from './fhir-routes.js';

export function registerSubscriptionRoutes(
  fhir: FastifyInstance,
  subscriptions: FhirSubscriptions,
  callerOf: (request: FastifyRequest) => FhirCaller,
  baseUrl: (request: FastifyRequest) => string,
): void {
  const allowed = (request: FastifyRequest, interaction: FhirInteraction) => {
    const caller = callerOf(request);
    if (!caller.allows('Subscription', interaction))
      throw FhirError.of(
        403,
        'forbidden',
        `the token's scopes do not allow ${interaction} on Subscription`,
      );
    return caller.principal;
  };

  fhir.post('/Subscription', async (request, reply) => {
    const principal = allowed(request, 'create');
    // Notifications name only what the token could read when it subscribed.
    const caller = callerOf(request);
    const readable = [...SERVED_TYPES, 'AuditEvent'].filter((type) => caller.allows(type, 'read'));
    const created = subscriptions.create(
      principal,
      jsonBody(request, 'Subscription'),
      baseUrl(request),
      readable,
    );
    void reply.header('Location', `${baseUrl(request)}/Subscription/${String(created['id'])}`);
    return send(reply, 201, created);
  });

  fhir.get<{ Params: { id: string } }>('/Subscription/:id', async (request, reply) =>
    send(reply, 200, subscriptions.read(allowed(request, 'read'), request.params.id)),
  );
  fhir.get<{ Params: { id: string } }>('/Subscription/:id/$status', async (request, reply) =>
    send(reply, 200, subscriptions.status(allowed(request, 'read'), request.params.id)),
  );

  fhir.get('/Subscription', async (request, reply) => {
    const found = subscriptions.list(allowed(request, 'search'));
    return send(reply, 200, {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: found.map((resource) => ({
        fullUrl: `${baseUrl(request)}/Subscription/${String(resource['id'])}`,
        resource,
        search: { mode: 'match' },
      })),
    });
  });

  fhir.delete<{ Params: { id: string } }>('/Subscription/:id', async (request, reply) => {
    subscriptions.delete(allowed(request, 'delete'), request.params.id);
    return reply.code(204).send();
  });
}
