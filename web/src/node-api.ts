/**
 * The app's only way to the node: its public FHIR and /ledger APIs with the session's bearer
 * token. Every failure becomes a NodeError whose message a person understands: the node being
 * down, a session that ended, or the OperationOutcome / {error, reason} the node answered.
 */
import { freshSession, refresh, type Session } from './session.js';

export type NodeErrorKind =
  | 'node-down'
  | 'session-ended'
  | 'forbidden'
  | 'not-found'
  | 'invalid'
  | 'conflict'
  | 'busy'
  | 'failed';

export class NodeError extends Error {
  override name = 'NodeError';
  constructor(
    readonly kind: NodeErrorKind,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

/** Fired when the session ends, so the app can return to the login page keeping drafts. */
export const sessionEnded = new EventTarget();

const KIND_OF_STATUS: Record<number, NodeErrorKind> = {
  400: 'invalid',
  401: 'session-ended',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'not-found',
  412: 'conflict',
  413: 'invalid',
  415: 'invalid',
  422: 'invalid',
  429: 'busy',
  503: 'busy',
};

const PLAIN_STATUS: Record<NodeErrorKind, string> = {
  'node-down':
    'The ChartChain node is not answering. Nothing you typed is lost; try again in a moment.',
  'session-ended': 'Your session has ended. Please sign in again; what you were typing is kept.',
  forbidden: 'You are not allowed to do this.',
  'not-found': 'That was not found, or you may not see it.',
  invalid: 'The node could not accept this.',
  conflict: 'Someone changed this at the same time. Reload and try again.',
  busy: 'The node is busy. Try again in a few seconds.',
  failed: 'The node could not complete this request.',
};

/** The words of an OperationOutcome's issues or a ledger {reason}, if the body has them. */
function reasonOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const outcome = body as {
    resourceType?: string;
    issue?: { diagnostics?: string; details?: { text?: string } }[];
    reason?: string;
  };
  if (outcome.resourceType === 'OperationOutcome') {
    const words = (outcome.issue ?? [])
      .map((issue) => issue.details?.text ?? issue.diagnostics)
      .filter((text): text is string => typeof text === 'string');
    return words.length === 0 ? undefined : words.join('; ');
  }
  return typeof outcome.reason === 'string' ? outcome.reason : undefined;
}

async function errorOf(response: Response): Promise<NodeError> {
  const kind = KIND_OF_STATUS[response.status] ?? 'failed';
  const reason = reasonOf(await response.json().catch(() => undefined));
  const plain = PLAIN_STATUS[kind];
  return new NodeError(
    kind,
    reason === undefined ? plain : `${plain} The node said: ${reason}.`.replace(/\.\.$/, '.'),
    response.status,
  );
}

async function send(session: Session, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${session.accessToken}`);
  try {
    return await fetch(path, { ...init, headers });
  } catch {
    throw new NodeError('node-down', PLAIN_STATUS['node-down']);
  }
}

/** Calls the node with the session's token, refreshing it once on a 401; resolves with the JSON body. */
export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const session = await freshSession().catch(() => undefined);
  if (session === undefined) throw ended();
  let response = await send(session, path, init);
  if (response.status === 401) {
    const renewed = await refresh(session);
    if (renewed === undefined) throw ended();
    response = await send(renewed, path, init);
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

function ended(): NodeError {
  sessionEnded.dispatchEvent(new Event('ended'));
  return new NodeError('session-ended', PLAIN_STATUS['session-ended'], 401);
}

/** A FHIR JSON body for POST/PUT. */
export function fhirBody(method: 'POST' | 'PUT', resource: unknown): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  };
}

/** Public routes need no token: status and signed tree heads. */
export async function publicCall<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path);
  } catch {
    throw new NodeError('node-down', PLAIN_STATUS['node-down']);
  }
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** The resources of a searchset Bundle. */
export function resourcesOf<T>(bundle: {
  entry?: { resource?: T; search?: { mode?: string } }[];
}): T[] {
  return (bundle.entry ?? [])
    .filter((entry) => entry.search?.mode !== 'outcome' && entry.resource !== undefined)
    .map((entry) => entry.resource!);
}
