/**
 * The checks @medplum/core 4.5 does not make, in one walk over the resource guided by the R4
 * schemas medplum indexed (so every element, in every datatype, contained resource and Bundle
 * entry, is visited with its type):
 * - codes of required bindings (R4 terminologies.html#required): a code, or at least one coding
 *   of a CodeableConcept, must be in the bound value set, for every value set that can be
 *   expanded offline (definitions.ts lists the ones that cannot);
 * - choice elements: at most one type of a value[x] (R4 formats.html#choice; medplum only warns);
 * - narrative XHTML (narrative.ts; medplum evaluates txt-1 and txt-2 as true);
 * - elements medplum adds to R4 (Meta.project, Meta.author, …), which its schema accepts, and
 *   properties medplum finds on its schema objects' prototypes (`constructor`, `__proto__`,
 *   `toString`, …): only an element's own name is one;
 * - resource types that are not R4 (SubscriptionStatus comes from R4B), nested or not;
 * - Resource.id as an R4 id (medplum reads its type as string), empty JSON arrays (R4
 *   json.html), absolute URIs in Coding.system and Bundle.entry.fullUrl (R4 datatypes.html
 *   #Coding, bundle.html#Bundle.entry.fullUrl), and Attachment.size against the size of
 *   Attachment.data: rules the reference validator enforces and medplum does not, found by
 *   comparing the two on the FHIR test cases.
 */
import {
  capitalize,
  isResourceType,
  tryGetDataType,
  type InternalSchemaElement,
  type InternalTypeSchema,
} from '@medplum/core';
import type { R4Definitions } from './definitions.js';
import { error, isObject, type Json, type ValidationIssue } from './issue.js';
import { checkNarrative } from './narrative.js';
import { canonicalUrl, type ValueSetCodes } from './value-sets.js';

/** The elements of Meta in R4 (datatypes.html#Meta); medplum's Meta has six more. */
const R4_META_ELEMENTS = new Set([
  'id',
  'extension',
  'versionId',
  'lastUpdated',
  'source',
  'profile',
  'security',
  'tag',
]);
const RESOURCE_TYPE_CODES = new Set(['Resource', 'DomainResource']);
export const NOT_R4_RESOURCE_TYPE = 'the resourceType is not a FHIR R4 resource type';
/** The diagnostics of an element R4 does not define, worded as medplum's are mapped (medplum-issues.ts), so the two merge. */
export const UNKNOWN_ELEMENT = 'the element is not defined in FHIR R4 here';
/** R4 id (datatypes.html#id). */
const ID_PATTERN = /^[A-Za-z0-9.-]{1,64}$/;
/** An absolute URI starts with a scheme (RFC 3986 §3.1). */
const ABSOLUTE_URI_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** base64Binary (as medplum checks it), once whitespace is removed. */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Elements that must hold an absolute URI, by the type that holds them. */
const ABSOLUTE_URI_ELEMENTS: Readonly<Record<string, string>> = {
  Coding: 'system',
  BundleEntry: 'fullUrl',
};

/** A JSON property name resolved to the element it holds. */
interface ElementMatch {
  element: InternalSchemaElement;
  /** The element's name, without '[x]': the FHIRPath step. */
  name: string;
  /** The type of this property's values: a choice element's type comes from the property name. */
  typeCode: string;
  choice: boolean;
}

const propertyIndexes = new WeakMap<InternalTypeSchema, ReadonlyMap<string, ElementMatch>>();

/** The elements of `schema` by JSON property name ('valueQuantity' → value[x] as Quantity). */
function propertyIndex(schema: InternalTypeSchema): ReadonlyMap<string, ElementMatch> {
  let index = propertyIndexes.get(schema);
  if (index !== undefined) return index;
  const built = new Map<string, ElementMatch>();
  for (const [name, element] of Object.entries(schema.elements)) {
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const type of element.type)
        built.set(base + capitalize(type.code), {
          element,
          name: base,
          typeCode: type.code,
          choice: true,
        });
    } else {
      built.set(name, { element, name, typeCode: element.type[0]?.code ?? '', choice: false });
    }
  }
  index = built;
  propertyIndexes.set(schema, index);
  return index;
}

/** Runs the checks on `resource`, whose resourceType the caller has checked is an R4 one. */
export function checkElements(resource: Json, definitions: R4Definitions): ValidationIssue[] {
  const checker = new ElementChecker(definitions);
  checker.checkResource(resource, resource.resourceType as string);
  return checker.issues;
}

class ElementChecker {
  readonly issues: ValidationIssue[] = [];

  constructor(private readonly definitions: R4Definitions) {}

  checkResource(resource: Json, path: string): void {
    const type = resource.resourceType;
    const schema =
      typeof type === 'string' && this.definitions.resourceTypes.has(type)
        ? tryGetDataType(type)
        : undefined;
    if (schema === undefined) {
      this.issues.push(error(notR4Code(type), path, NOT_R4_RESOURCE_TYPE));
      return;
    }
    if (
      resource.id !== undefined &&
      (typeof resource.id !== 'string' || !ID_PATTERN.test(resource.id))
    ) {
      this.issues.push(
        error(
          'value',
          `${path}.id`,
          'a resource id must be 1 to 64 of A-Z a-z 0-9 - . (R4 datatypes.html#id)',
        ),
      );
    }
    this.checkObject(resource, schema, path, true);
  }

  private checkObject(
    object: Json,
    schema: InternalTypeSchema,
    path: string,
    isResource = false,
  ): void {
    const index = propertyIndex(schema);
    const choiceTypes = new Map<string, Set<string>>();
    for (const key of Object.keys(object)) {
      const isPrimitiveElement = key.startsWith('_');
      const match = index.get(isPrimitiveElement ? key.slice(1) : key);
      if (match === undefined) {
        // medplum looks element names up through the prototype chain, so it takes `constructor`,
        // `__proto__` or `toString` for elements; the index is a Map and knows only real ones.
        if (!(isResource && key === 'resourceType'))
          this.issues.push(error('structure', `${path}.${key}`, UNKNOWN_ELEMENT));
        continue;
      }
      if (match.choice)
        choiceTypes.set(match.name, (choiceTypes.get(match.name) ?? new Set()).add(match.typeCode));
      if (schema.name === 'Meta' && !R4_META_ELEMENTS.has(match.name)) {
        this.issues.push(
          error(
            'structure',
            `${path}.${match.name}`,
            'the element is not defined in FHIR R4 here (Meta has no such element)',
          ),
        );
        continue;
      }
      const value = object[key];
      const elementPath = `${path}.${match.name}`;
      if (Array.isArray(value) && value.length === 0)
        this.issues.push(
          error(
            'structure',
            elementPath,
            'an array must not be empty; leave the element out instead (R4 json.html)',
          ),
        );
      if (
        ABSOLUTE_URI_ELEMENTS[schema.name] === key &&
        typeof value === 'string' &&
        !ABSOLUTE_URI_PATTERN.test(value)
      ) {
        this.issues.push(
          error(
            'value',
            elementPath,
            `${schema.name === 'Coding' ? 'Coding.system' : 'Bundle.entry.fullUrl'} must be an absolute URI`,
          ),
        );
      }
      if (Array.isArray(value))
        value.forEach((item, position) =>
          this.checkValue(item, match, `${elementPath}[${position}]`, isPrimitiveElement),
        );
      else this.checkValue(value, match, elementPath, isPrimitiveElement);
    }
    if (schema.name === 'Attachment' && !attachmentSizeMatches(object))
      this.issues.push(
        error(
          'value',
          `${path}.size`,
          'Attachment.size is not the number of bytes in Attachment.data',
        ),
      );
    for (const [name, types] of choiceTypes) {
      if (types.size > 1) {
        this.issues.push(
          error(
            'structure',
            `${path}.${name}`,
            `${name}[x] has values of ${types.size} types (${[...types].sort().join(', ')}); a choice element takes exactly one`,
          ),
        );
      }
    }
  }

  /** Checks one value of an element; `isPrimitiveElement` when it is the id and extensions of a primitive ('_gender'). */
  private checkValue(
    value: unknown,
    match: ElementMatch,
    path: string,
    isPrimitiveElement: boolean,
  ): void {
    if (isPrimitiveElement) {
      const element = tryGetDataType('Element');
      if (isObject(value) && element !== undefined) this.checkObject(value, element, path);
      return;
    }
    this.checkBinding(value, match, path);
    if (DATE_TYPES.has(match.typeCode) && typeof value === 'string' && !isCalendarDate(value))
      this.issues.push(error('value', path, 'the date names a day its month does not have'));
    if (match.typeCode === 'xhtml' && typeof value === 'string')
      this.issues.push(...checkNarrative(value, path));
    if (!isObject(value)) return;
    // A resource in an element (contained, Bundle.entry.resource, Bundle.entry.response.outcome) carries its resourceType.
    if (
      RESOURCE_TYPE_CODES.has(match.typeCode) ||
      this.definitions.resourceTypes.has(match.typeCode)
    )
      return this.checkResource(value, path);
    const schema = tryGetDataType(match.typeCode);
    if (schema !== undefined) this.checkObject(value, schema, path);
  }

  private checkBinding(value: unknown, match: ElementMatch, path: string): void {
    const binding: unknown = match.element.binding;
    if (
      !isObject(binding) ||
      binding.strength !== 'required' ||
      typeof binding.valueSet !== 'string'
    )
      return;
    const valueSet = this.definitions.requiredValueSets.get(canonicalUrl(binding.valueSet));
    if (valueSet === undefined) return;
    const problem = bindingProblem(value, match.typeCode, valueSet);
    if (problem !== undefined)
      this.issues.push(
        error('code-invalid', path, `${problem} ${valueSet.url}, which a required binding demands`),
      );
  }
}

/** The primitive types whose values may name a day. */
const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/**
 * False when `value` starts with a year, month and day and that day does not exist (2021-02-29,
 * 2020-04-31): R4's regular expressions allow any day from 01 to 31. Anything else, a partial
 * date or a malformed one, is left to the format check.
 */
function isCalendarDate(value: string): boolean {
  const parts = /^(\d{4})-(0[1-9]|1[0-2])-(\d{2})/.exec(value);
  if (parts === null) return true;
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(Number(parts[1]), Number(parts[2]), 0);
  const day = Number(parts[3]);
  return day >= 1 && day <= lastDay.getUTCDate();
}

/** False only when an Attachment states a size and carries valid base64 data of another size. */
function attachmentSizeMatches(attachment: Json): boolean {
  if (typeof attachment.data !== 'string' || typeof attachment.size !== 'number') return true;
  const base64 = attachment.data.replace(/\s/g, '');
  if (!BASE64_PATTERN.test(base64)) return true;
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding === attachment.size;
}

/** 'not-supported' for a resource type of another FHIR version that medplum knows (SubscriptionStatus), else 'invalid'. */
export function notR4Code(type: unknown): 'not-supported' | 'invalid' {
  return typeof type === 'string' && isResourceType(type) ? 'not-supported' : 'invalid';
}

/** What is wrong with `value` under a required binding to `valueSet`, or undefined if nothing (or if the value is not a code at all, which medplum reports). */
function bindingProblem(
  value: unknown,
  typeCode: string,
  valueSet: ValueSetCodes,
): string | undefined {
  switch (typeCode) {
    case 'code':
    case 'string':
    case 'uri':
      return typeof value === 'string' && !valueSet.codes.has(value)
        ? 'the code is not in the value set'
        : undefined;
    case 'Coding':
      return isObject(value) && !inValueSet(value, valueSet)
        ? 'the coding is not in the value set'
        : undefined;
    case 'CodeableConcept': {
      if (!isObject(value)) return undefined;
      const codings = Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
      if (codings.length === 0) return 'there is no coding from the value set';
      return codings.some((coding) => inValueSet(coding, valueSet))
        ? undefined
        : 'none of the codings is in the value set';
    }
    default:
      return undefined;
  }
}

function inValueSet(coding: Json, valueSet: ValueSetCodes): boolean {
  return (
    typeof coding.system === 'string' &&
    typeof coding.code === 'string' &&
    valueSet.codings.has(`${coding.system}|${coding.code}`)
  );
}
