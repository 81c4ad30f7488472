/**
 * PID to FHIR Patient (after the HL7 v2-to-FHIR IG's PID[Patient] map, the fields practices
 * send): identifiers from PID-3 (every repetition), name PID-5, birth date PID-7, sex PID-8,
 * address PID-11, phone PID-13.
 */
import type { Hl7Segment } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { component, fhirDate, repetitions } from './fields.js';

/** The identifier system of an assigning authority (PID-3.4, CX.4) that names no URI itself. */
export function authoritySystem(authority: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(authority)
    ? authority
    : `urn:chartchain:v2:authority:${encodeURIComponent(authority || 'unknown')}`;
}

/** The Patient's identifiers: one per PID-3 repetition with a value. */
export function patientIdentifiers(pid: Hl7Segment): JsonObject[] {
  const identifiers: JsonObject[] = [];
  for (let i = 0; i < repetitions(pid, 3); i++) {
    const value = component(pid, 3, 1, i);
    if (value === '') continue;
    const type = component(pid, 3, 5, i);
    identifiers.push({
      ...(type === ''
        ? {}
        : {
            type: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: type }],
            },
          }),
      system: authoritySystem(component(pid, 3, 4, i)),
      value,
    });
  }
  return identifiers;
}

const GENDER: Readonly<Record<string, string>> = {
  M: 'male',
  F: 'female',
  O: 'other',
  U: 'unknown',
  A: 'other',
  N: 'unknown',
};

/** The Patient PID describes, without an id. Throws RangeError naming PID-3 when it has no identifier. */
export function patientOf(pid: Hl7Segment): JsonObject {
  const identifier = patientIdentifiers(pid);
  if (identifier.length === 0) throw new RangeError('PID-3 names no patient identifier');
  const family = component(pid, 5, 1);
  const given = [component(pid, 5, 2), component(pid, 5, 3)].filter((name) => name !== '');
  const birthDate = fhirDate(component(pid, 7));
  const gender = GENDER[component(pid, 8)];
  const address = addressOf(pid);
  const phone = component(pid, 13, 1);
  return {
    resourceType: 'Patient',
    identifier,
    ...(family === '' && given.length === 0
      ? {}
      : {
          name: [
            { ...(family === '' ? {} : { family }), ...(given.length === 0 ? {} : { given }) },
          ],
        }),
    ...(gender === undefined ? {} : { gender }),
    ...(birthDate === undefined ? {} : { birthDate }),
    ...(address === undefined ? {} : { address: [address] }),
    ...(phone === '' ? {} : { telecom: [{ system: 'phone', value: phone }] }),
  };
}

function addressOf(pid: Hl7Segment): JsonObject | undefined {
  const [line, city, state, postalCode, country] = [1, 3, 4, 5, 6].map((part) =>
    component(pid, 11, part),
  );
  const address: JsonObject = {
    ...(line === '' ? {} : { line: [line!] }),
    ...(city === '' ? {} : { city: city! }),
    ...(state === '' ? {} : { state: state! }),
    ...(postalCode === '' ? {} : { postalCode: postalCode! }),
    ...(country === '' ? {} : { country: country! }),
  };
  return Object.keys(address).length === 0 ? undefined : address;
}
