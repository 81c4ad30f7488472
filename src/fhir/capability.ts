/** The CapabilityStatement served at /fhir/metadata: exactly what this server does, no more. */
import type { JsonObject } from '../ledger/index.js';
import { SERVED_TYPES } from './patient-of.js';
import { searchParametersOf } from './search/index.js';
import { TOPIC_URLS } from './subscriptions/topics.js';

/** The ledger views and their own search parameters. Provenance is also stored as records when clients send it. */
const LEDGER_VIEWS: Readonly<
  Record<string, { interactions: string[]; searchParams: [string, string][] }>
> = {
  Consent: {
    interactions: ['create', 'read', 'update', 'delete', 'search-type'],
    searchParams: [['patient', 'reference']],
  },
  AuditEvent: { interactions: ['read', 'search-type'], searchParams: [['patient', 'reference']] },
  Provenance: { interactions: ['read', 'search-type'], searchParams: [['target', 'reference']] },
};

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

/** Topic-based Subscriptions (R4 Backport IG), rest-hook and websocket, with the topics this node raises. */
const SUBSCRIPTION = {
  type: 'Subscription',
  supportedProfile: [`${BACKPORT}/backport-subscription`],
  interaction: ['create', 'read', 'delete', 'search-type'].map((code) => ({ code })),
  extension: TOPIC_URLS.map((valueCanonical) => ({
    url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`,
    valueCanonical,
  })),
};

/** The software version reported in CapabilityStatement.software. */
const SOFTWARE_VERSION = '0.1.0';

/** The operations on a Patient: $everything, and break-the-glass (src/api/fhir-break-the-glass.ts). */
const PATIENT_OPERATIONS = [
  {
    name: 'export',
    definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  },
  { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
  { name: 'break-the-glass', definition: 'urn:chartchain:operation:break-the-glass' },
  { name: 'break-the-glass-choice', definition: 'urn:chartchain:operation:break-the-glass-choice' },
];

/** Bulk export of a Group's members (src/api/fhir-bulk-export.ts). */
const GROUP_EXPORT = {
  name: 'export',
  definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
};

/** The CapabilityStatement for a server whose FHIR base is `baseUrl`, stamped with `date`. */
export function capabilityStatement(
  baseUrl: string,
  date: string,
  security: { tokenUrl: string; authorizeUrl: string } | undefined,
): JsonObject {
  const interaction = [
    'create',
    'read',
    'vread',
    'update',
    'patch',
    'delete',
    'history-instance',
    'search-type',
  ].map((code) => ({ code }));
  const records = SERVED_TYPES.map((type) => ({
    type,
    interaction,
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchInclude: [`${type}:subject`, `${type}:patient`].filter((include) =>
      searchParametersOf(type).some(([name]) => include.endsWith(`:${name}`)),
    ),
    searchParam: [
      ...searchParametersOf(type).map(([name, definition]) => ({ name, type: definition.kind })),
      ...(LEDGER_VIEWS[type]?.searchParams ?? []).map(([name, kind]) => ({ name, type: kind })),
    ],
    ...(type === 'Patient' ? { operation: PATIENT_OPERATIONS } : {}),
    ...(type === 'Group' ? { operation: [GROUP_EXPORT] } : {}),
  }));
  const views = Object.entries(LEDGER_VIEWS)
    .filter(([type]) => !SERVED_TYPES.includes(type))
    .map(([type, view]) => ({
      type,
      interaction: view.interactions.map((code) => ({ code })),
      searchParam: view.searchParams.map(([name, kind]) => ({ name, type: kind })),
    }));
  const rest: JsonObject = {
    mode: 'server',
    documentation:
      'Every write is encrypted and anchored on the ChartChain ledger; every read, search hit included, is consent-checked and logged on the ledger before release.',
    resource: [...records, ...views, SUBSCRIPTION].sort((a, b) => a.type.localeCompare(b.type)),
    // System-level names of instance operations on every record type (src/api/fhir-erasure.ts for $erase and $erasure).
    operation: ['verify', 'erase', 'erasure'].map((name) => ({
      name,
      definition: `urn:chartchain:operation:${name}`,
    })),
  };
  if (security !== undefined) {
    rest['security'] = {
      cors: false,
      service: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
              code: 'SMART-on-FHIR',
            },
          ],
        },
      ],
      extension: [
        {
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'token', valueUri: security.tokenUrl },
            { url: 'authorize', valueUri: security.authorizeUrl },
          ],
        },
      ],
    };
  }
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'ChartChain', version: SOFTWARE_VERSION },
    implementation: { description: 'ChartChain node', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [rest],
  };
}
