/**
 * SMART App Launch 2.0 scopes: `context/resourceType.permissions`, e.g. `patient/Observation.rs`,
 * `user/*.cruds`, `system/*.rs`. SMART v1 suffixes (`.read`, `.write`, `.*`) are read as their v2
 * equivalents, and scopes are always written back in v2 form. Granular scopes (`?param=value`)
 * are refused rather than widened, since nothing here could enforce their search parameters.
 */
import { FHIR_RESOURCE_TYPES } from './resource-types.js';
import { SCOPE_COUNT_MAX, SCOPE_PARAMETER_LENGTH_MAX } from '../../ledger/index.js';

/** Whose data a resource scope reaches: the patient in context, the user's, or any (backend). */
export type ScopeContext = 'patient' | 'user' | 'system';

/** A FHIR REST interaction a scope may permit, one per letter of `cruds`. */
export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

/** Scopes that are recognised but grant no access to resources. */
export type NamedScopeName = 'openid' | 'fhirUser' | 'launch/patient' | 'offline_access';

/** A SMART v2 resource scope; `permissions` is a non-empty subsequence of `cruds`. */
export interface ResourceScope {
  readonly kind: 'resource';
  readonly context: ScopeContext;
  /** A FHIR R4 resource type, or `*` for all of them. */
  readonly resourceType: string;
  readonly permissions: string;
}

/** One of the identity, launch-context or refresh scopes. */
export interface NamedScope {
  readonly kind: 'named';
  readonly name: NamedScopeName;
}

/** A parsed scope. */
export type Scope = ResourceScope | NamedScope;

/** A scope string that is not one this server understands; the message says why. */
export class ScopeError extends Error {
  constructor(
    readonly scope: string,
    reason: string,
  ) {
    super(`scope ${JSON.stringify(scope.slice(0, 200))}: ${reason}`);
    this.name = 'ScopeError';
  }
}

const NAMED_SCOPES: ReadonlySet<string> = new Set<NamedScopeName>([
  'openid',
  'fhirUser',
  'launch/patient',
  'offline_access',
]);
const CONTEXTS: ReadonlySet<string> = new Set<ScopeContext>(['patient', 'user', 'system']);
const PERMISSION_LETTERS = 'cruds';
const LETTER_OF: Record<Interaction, string> = {
  create: 'c',
  read: 'r',
  update: 'u',
  delete: 'd',
  search: 's',
};
const V1_PERMISSIONS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

/** Parses one scope token; throws ScopeError if it is malformed or unknown. */
export function parseScope(text: string): Scope {
  if (NAMED_SCOPES.has(text)) return { kind: 'named', name: text as NamedScopeName };
  if (text.includes('?'))
    throw new ScopeError(text, 'granular scopes (?param=value) are not supported');
  const slash = text.indexOf('/');
  const dot = text.lastIndexOf('.');
  if (slash < 0 || dot < slash)
    throw new ScopeError(text, 'expected context/resourceType.permissions or a known scope');
  const context = text.slice(0, slash);
  const resourceType = text.slice(slash + 1, dot);
  if (!CONTEXTS.has(context)) throw new ScopeError(text, 'context must be patient, user or system');
  if (resourceType !== '*' && !FHIR_RESOURCE_TYPES.has(resourceType))
    throw new ScopeError(text, 'not a FHIR R4 resource type');
  return {
    kind: 'resource',
    context: context as ScopeContext,
    resourceType,
    permissions: parsePermissions(text, text.slice(dot + 1)),
  };
}

function parsePermissions(text: string, suffix: string): string {
  const v1 = Object.hasOwn(V1_PERMISSIONS, suffix) ? V1_PERMISSIONS[suffix] : undefined;
  if (v1 !== undefined) return v1;
  if (!/^c?r?u?d?s?$/.test(suffix) || suffix === '')
    throw new ScopeError(
      text,
      'permissions must be letters of c, r, u, d, s, in that order, each at most once',
    );
  return suffix;
}

/**
 * Parses a space-separated scope parameter (RFC 6749 §3.3). Duplicates collapse to one; an
 * empty parameter is no scopes. Throws ScopeError on the first malformed scope.
 */
export function parseScopes(parameter: string): Scope[] {
  if (parameter.length > SCOPE_PARAMETER_LENGTH_MAX)
    throw new ScopeError(
      parameter,
      `the scope parameter is longer than ${SCOPE_PARAMETER_LENGTH_MAX} characters`,
    );
  const tokens = parameter.split(' ').filter((token) => token !== '');
  if (tokens.length > SCOPE_COUNT_MAX)
    throw new ScopeError(parameter, `more than ${SCOPE_COUNT_MAX} scopes`);
  return mergeScopes(tokens.map(parseScope));
}

/** The canonical (v2) text of `scope`. */
export function formatScope(scope: Scope): string {
  return scope.kind === 'named'
    ? scope.name
    : `${scope.context}/${scope.resourceType}.${scope.permissions}`;
}

/** The scope parameter for `scopes`: canonical texts joined by single spaces. */
export function formatScopes(scopes: readonly Scope[]): string {
  return scopes.map(formatScope).join(' ');
}

/** True if some resource scope in `scopes` permits `interaction` on `resourceType` (in `context`, if given). */
export function allows(
  scopes: readonly Scope[],
  request: { resourceType: string; interaction: Interaction; context?: ScopeContext },
): boolean {
  const letter = LETTER_OF[request.interaction];
  return scopes.some(
    (scope) =>
      scope.kind === 'resource' &&
      (request.context === undefined || scope.context === request.context) &&
      (scope.resourceType === '*' || scope.resourceType === request.resourceType) &&
      scope.permissions.includes(letter),
  );
}

/** True if `scopes` holds the named scope `name`. */
export function hasNamedScope(scopes: readonly Scope[], name: NamedScopeName): boolean {
  return scopes.some((scope) => scope.kind === 'named' && scope.name === name);
}

/**
 * What of `requested` falls within `allowed`: named scopes both hold, and for each pair of
 * resource scopes in the same context, the narrower resource type with the common permissions.
 * `patient/Observation.rs` within `patient/*.cruds` is `patient/Observation.rs`; `user/*.cruds`
 * within `user/Observation.rs` is `user/Observation.rs`.
 */
export function narrowScopes(requested: readonly Scope[], allowed: readonly Scope[]): Scope[] {
  const granted = requested.flatMap((scope) =>
    scope.kind === 'named'
      ? allowed.filter((other) => sameNamed(scope, other))
      : allowed.flatMap((other) => intersect(scope, other)),
  );
  return mergeScopes(granted);
}

function sameNamed(scope: NamedScope, other: Scope): boolean {
  return other.kind === 'named' && other.name === scope.name;
}

function intersect(scope: ResourceScope, other: Scope): ResourceScope[] {
  if (other.kind !== 'resource' || other.context !== scope.context) return [];
  const resourceType =
    scope.resourceType === '*'
      ? other.resourceType
      : other.resourceType === '*' || other.resourceType === scope.resourceType
        ? scope.resourceType
        : undefined;
  const permissions = commonPermissions(scope.permissions, other.permissions);
  return resourceType === undefined || permissions === ''
    ? []
    : [{ kind: 'resource', context: scope.context, resourceType, permissions }];
}

function commonPermissions(left: string, right: string): string {
  return [...PERMISSION_LETTERS]
    .filter((letter) => left.includes(letter) && right.includes(letter))
    .join('');
}

function unionPermissions(left: string, right: string): string {
  return [...PERMISSION_LETTERS]
    .filter((letter) => left.includes(letter) || right.includes(letter))
    .join('');
}

/** Collapses scopes naming the same thing (resource scopes: same context and type) into one, in first-seen order. */
function mergeScopes(scopes: readonly Scope[]): Scope[] {
  const merged = new Map<string, Scope>();
  for (const scope of scopes) {
    const key = scope.kind === 'named' ? scope.name : `${scope.context}/${scope.resourceType}`;
    const seen = merged.get(key);
    merged.set(
      key,
      seen?.kind === 'resource' && scope.kind === 'resource'
        ? { ...seen, permissions: unionPermissions(seen.permissions, scope.permissions) }
        : scope,
    );
  }
  return [...merged.values()];
}
