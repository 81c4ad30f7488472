/** The FHIR R4 shapes the app reads, and how to say them in words. */
import { call } from './node-api.js';

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}
export interface Reference {
  reference?: string;
  display?: string;
}
export interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; security?: Coding[] };
  [element: string]: unknown;
}

interface SearchEntry {
  resource?: Resource;
  search?: { mode?: string; extension?: { url: string; valueCode?: string }[] };
}

/** A search hit, with what let the caller read it (the node's access-basis extension). */
export interface Found {
  readonly resource: Resource;
  readonly basis: string | undefined;
}

/** Every hit a search finds, following `next` links up to `max`. */
export async function searchFound(
  type: string,
  query: Record<string, string>,
  max = 2000,
  headers?: HeadersInit,
): Promise<Found[]> {
  let url: string | undefined = `/fhir/${type}?${new URLSearchParams({ _count: '200', ...query })}`;
  const found: Found[] = [];
  while (url !== undefined && found.length < max) {
    const bundle: { entry?: SearchEntry[]; link?: { relation: string; url: string }[] } =
      await call(url, headers === undefined ? {} : { headers });
    for (const entry of bundle.entry ?? []) {
      if (entry.search?.mode === 'match' && entry.resource !== undefined)
        found.push({
          resource: entry.resource,
          basis: entry.search.extension?.find(
            (e) => e.url === 'urn:chartchain:extension:access-basis',
          )?.valueCode,
        });
    }
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    url = next === undefined ? undefined : new URL(next).pathname + new URL(next).search;
  }
  return found;
}

/** Every resource a search finds, following `next` links up to `max`. */
export async function searchAll(
  type: string,
  query: Record<string, string>,
  max = 2000,
  headers?: HeadersInit,
): Promise<Resource[]> {
  return (await searchFound(type, query, max, headers)).map((found) => found.resource);
}

/** The search that finds a patient's resources of `type`: `patient=` where the node indexes it, else `subject=`. */
export function patientQuery(type: string, patientId: string): Record<string, string> {
  return type === 'DocumentReference'
    ? { subject: `Patient/${patientId}` }
    : { patient: patientId };
}

export function conceptText(concept: unknown): string {
  const value = concept as CodeableConcept | undefined;
  return (
    value?.text ??
    value?.coding?.find((c) => c.display !== undefined)?.display ??
    value?.coding?.[0]?.code ??
    '—'
  );
}

/** The clinically relevant date of a resource, as epoch ms (NaN when it has none). */
export function dateOf(resource: Resource): number {
  const r = resource as Record<string, unknown>;
  const text = (r['effectiveDateTime'] ??
    r['onsetDateTime'] ??
    r['recordedDate'] ??
    r['authoredOn'] ??
    r['occurrenceDateTime'] ??
    (r['period'] as { start?: string } | undefined)?.start ??
    r['date'] ??
    resource.meta?.lastUpdated) as string | undefined;
  return text === undefined ? NaN : Date.parse(text);
}

export interface Quantity {
  value: number;
  unit: string;
}

/** The numeric value of an Observation (valueQuantity), if it has one. */
export function quantityOf(observation: Resource): Quantity | undefined {
  const quantity = observation['valueQuantity'] as
    { value?: number; unit?: string; code?: string } | undefined;
  if (typeof quantity?.value !== 'number') return undefined;
  return { value: quantity.value, unit: quantity.unit ?? quantity.code ?? '' };
}

/** A trend: one code's numeric values over time. */
export interface Trend {
  name: string;
  unit: string;
  points: { time: number; value: number }[];
}

/** Numeric observations grouped by code (system and code, else text), for trend plots. */
export function trends(observations: readonly Resource[]): Map<string, Trend> {
  const groups = new Map<string, Trend>();
  for (const observation of observations) {
    const quantity = quantityOf(observation);
    const time = dateOf(observation);
    if (quantity === undefined || Number.isNaN(time)) continue;
    const coding = (observation['code'] as CodeableConcept | undefined)?.coding?.[0];
    const key =
      coding?.code === undefined
        ? conceptText(observation['code'])
        : `${coding.system ?? ''}|${coding.code}`;
    const group = groups.get(key) ?? {
      name: conceptText(observation['code']),
      unit: quantity.unit,
      points: [],
    };
    group.points.push({ time, value: quantity.value });
    groups.set(key, group);
  }
  return groups;
}

/** Sensitivity labels a clinician may put on a record, and what they mean. */
export const SENSITIVITY_LABELS: readonly [string, string][] = [
  ['PSY', 'psychiatry'],
  ['42CFRPart2', 'substance-use treatment (42 CFR Part 2)'],
  ['HIV', 'HIV/AIDS'],
  ['SDV', 'sexual and domestic violence'],
  ['ETH', 'substance abuse'],
  ['GDIS', 'genetic disease'],
];

export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

export function labelsOf(resource: Resource): string[] {
  return (resource.meta?.security ?? [])
    .map((coding) => coding.code ?? '')
    .filter((code) => SENSITIVITY_LABELS.some(([label]) => label === code));
}
