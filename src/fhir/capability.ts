/** The CapabilityStatement served at /fhir/metadata: exactly what this server does, no more. */
import type { JsonObject } from '../ledger/index.js';
import { SERVED_TYPES } from './patient-of.js';

/** The software version reported in CapabilityStatement.software. */
const SOFTWARE_VERSION = '0.1.0';

/** The CapabilityStatement for a server whose FHIR base is `baseUrl`, stamped with `date`. */
export function capabilityStatement(baseUrl: string, date: string, security: { tokenUrl: string; authorizeUrl: string } | undefined): JsonObject {
  const interaction = ['create', 'read', 'vread', 'update', 'delete', 'history-instance'].map((code) => ({ code }));
  const rest: JsonObject = {
    mode: 'server',
    documentation: 'Every write is encrypted and anchored on the ChartChain ledger; every read is consent-checked and logged on the ledger before release.',
    resource: SERVED_TYPES.map((type) => ({
      type,
      interaction,
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
    })),
  };
  if (security !== undefined) {
    rest['security'] = {
      cors: false,
      service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
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
    rest: [rest],
  };
}
