/**
 * OBR and OBX to FHIR DiagnosticReport and Observation (after the HL7 v2-to-FHIR IG's
 * OBR[DiagnosticReport] and OBX[Observation] maps): codes from OBR-4 and OBX-3, values by OBX-2,
 * units OBX-6, reference range OBX-7, interpretation OBX-8, status OBX-11 and OBR-25, times
 * OBX-14 and OBR-7.
 */
import type { Hl7Segment } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { component, fhirDateTime } from './fields.js';

const CODE_SYSTEMS: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  UCUM: 'http://unitsofmeasure.org',
  I10: 'http://hl7.org/fhir/sid/icd-10',
};
const OBSERVATION_STATUS: Readonly<Record<string, string>> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  I: 'registered',
  X: 'cancelled',
  D: 'entered-in-error',
  W: 'entered-in-error',
};
const REPORT_STATUS: Readonly<Record<string, string>> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'partial',
  I: 'registered',
  X: 'cancelled',
};
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/** A v2 coded element (CE/CWE: code^text^system) as a CodeableConcept; undefined when empty. */
export function codeableConcept(segment: Hl7Segment, field: number): JsonObject | undefined {
  const [code, text, system] = [1, 2, 3].map((part) => component(segment, field, part)) as [
    string,
    string,
    string,
  ];
  if (code === '' && text === '') return undefined;
  const coding =
    code === ''
      ? []
      : [{ system: codeSystem(system), code, ...(text === '' ? {} : { display: text }) }];
  return { ...(coding.length === 0 ? {} : { coding }), ...(text === '' ? {} : { text }) };
}

function codeSystem(name: string): string {
  if (Object.hasOwn(CODE_SYSTEMS, name)) return CODE_SYSTEMS[name]!;
  return `urn:chartchain:v2:code-system:${encodeURIComponent(name || 'local')}`;
}

/** The Observation one OBX reports about the patient at `subject`, identified by `identifier`. */
export function observationOf(
  obx: Hl7Segment,
  obr: Hl7Segment | undefined,
  subject: string,
  identifier: JsonObject,
): JsonObject {
  const code = codeableConcept(obx, 3);
  if (code === undefined) throw new RangeError('OBX-3 names no observation code');
  const effective = fhirDateTime(component(obx, 14)) ?? fhirDateTime(component(obr, 7));
  const range = component(obx, 7);
  const flag = component(obx, 8);
  return {
    resourceType: 'Observation',
    identifier: [identifier],
    status: OBSERVATION_STATUS[component(obx, 11)] ?? 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'laboratory',
          },
        ],
      },
    ],
    code,
    subject: { reference: subject },
    ...(effective === undefined ? {} : { effectiveDateTime: effective }),
    ...valueOf(obx),
    ...(flag === ''
      ? {}
      : { interpretation: [{ coding: [{ system: INTERPRETATION, code: flag }] }] }),
    ...(range === '' ? {} : { referenceRange: [{ text: range }] }),
  };
}

/** value[x] by OBX-2: NM and SN as a Quantity, coded types as a CodeableConcept, the rest as a string. */
function valueOf(obx: Hl7Segment): JsonObject {
  const type = component(obx, 2);
  // An SN's first component is only its comparator: its value is all four.
  const text = type === 'SN' ? structuredNumberText(obx) : component(obx, 5);
  if (text === '') return {};
  // An SN with a separator is a ratio or a range (1:128, 2-5): not one quantity.
  if (type === 'SN' && (component(obx, 5, 3) !== '' || component(obx, 5, 4) !== ''))
    return { valueString: text };
  if (type === 'NM' || type === 'SN') {
    const quantity = quantityOf(
      obx,
      type === 'SN' ? `${component(obx, 5, 1)}${component(obx, 5, 2)}` : text,
    );
    if (quantity !== undefined) return { valueQuantity: quantity };
  }
  if (type === 'CE' || type === 'CWE' || type === 'CNE') {
    const concept = codeableConcept(obx, 5);
    if (concept !== undefined) return { valueCodeableConcept: concept };
  }
  return { valueString: text };
}

/** OBX-5 of an SN as written: its four components (comparator, number, separator, number) joined by ^, trailing empty ones left out. */
function structuredNumberText(obx: Hl7Segment): string {
  const parts = [1, 2, 3, 4].map((part) => component(obx, 5, part));
  while (parts.length > 1 && parts.at(-1) === '') parts.pop();
  return parts.join('^');
}

function quantityOf(obx: Hl7Segment, written: string): JsonObject | undefined {
  const match = /^(<=|>=|<|>)?\s*(-?\d+(?:\.\d+)?)$/.exec(written.trim());
  if (match === null) return undefined;
  const [unitCode, unitText, unitSystem] = [1, 2, 3].map((part) => component(obx, 6, part)) as [
    string,
    string,
    string,
  ];
  const unit = unitText || unitCode;
  return {
    value: Number(match[2]),
    ...(match[1] === undefined ? {} : { comparator: match[1] }),
    ...(unit === '' ? {} : { unit }),
    ...(unitCode === '' || (unitSystem !== '' && unitSystem !== 'UCUM')
      ? {}
      : { system: CODE_SYSTEMS['UCUM']!, code: unitCode }),
  };
}

/** The DiagnosticReport an OBR heads, listing `results` (references to its Observations). */
export function reportOf(
  obr: Hl7Segment,
  subject: string,
  identifier: JsonObject,
  results: readonly string[],
): JsonObject {
  const code = codeableConcept(obr, 4);
  if (code === undefined) throw new RangeError('OBR-4 names no test');
  const effective = fhirDateTime(component(obr, 7));
  const issued = fhirDateTime(component(obr, 22));
  return {
    resourceType: 'DiagnosticReport',
    identifier: [identifier],
    status: REPORT_STATUS[component(obr, 25)] ?? 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] },
    ],
    code,
    subject: { reference: subject },
    ...(effective === undefined ? {} : { effectiveDateTime: effective }),
    ...(issued === undefined || !issued.includes('T') ? {} : { issued }),
    ...(results.length === 0 ? {} : { result: results.map((reference) => ({ reference })) }),
  };
}
