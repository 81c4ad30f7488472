/**
 * The second step of R4 transaction processing (http.html#trules): once the executor has run
 * each conditional reference's search, point the references at what they found.
 */
import { FhirError } from '../outcome.js';
import { R4_ID } from './entry.js';
import { conditionalType, forEachReference } from './references.js';
import type { BundlePlan, EntryError, PlannedEntry } from './types.js';

/**
 * A copy of `plan` whose conditional references are rewritten to `resolved`, which maps each
 * conditional reference as written (e.g. 'Organization?identifier=sys|val') to the 'Type/id'
 * its search found. A conditional reference with no resolution is a 422 'processing': it fails
 * a transaction, and becomes the entry's error in a batch. A resolution that is not a
 * 'Type/id' of the searched type is a server bug, so a plain Error.
 */
export function applyResolvedReferences(
  plan: BundlePlan,
  resolved: ReadonlyMap<string, string>,
): BundlePlan {
  const holders = new Set(plan.conditionalReferences.map((reference) => reference.index));
  const steps: PlannedEntry[] = [];
  const entryErrors: EntryError[] = [...plan.entryErrors];
  for (const step of plan.steps) {
    if (!holders.has(step.index)) {
      steps.push(step);
      continue;
    }
    try {
      steps.push(resolveStep(step, resolved));
    } catch (error) {
      if (plan.type === 'transaction' || !(error instanceof FhirError)) throw error;
      entryErrors.push({ index: step.index, error });
    }
  }
  return { ...plan, steps, conditionalReferences: [], entryErrors };
}

function resolveStep(step: PlannedEntry, resolved: ReadonlyMap<string, string>): PlannedEntry {
  const resource = structuredClone(step.resource!);
  forEachReference(resource, `Bundle.entry[${step.index}].resource`, (site) => {
    const type = conditionalType(site.reference);
    if (type === undefined) return;
    const target = resolved.get(site.reference);
    if (target === undefined) {
      throw FhirError.of(
        422,
        'processing',
        `Bundle.entry[${step.index}]: the conditional reference at ${site.path} matched no resource`,
        [site.path],
      );
    }
    if (!isReferenceTo(type, target))
      throw new Error(`a conditional reference to ${type} must resolve to ${type}/[id]`);
    site.replace(target);
  });
  return { ...step, resource };
}

function isReferenceTo(type: string, target: string): boolean {
  const [targetType, id, ...rest] = target.split('/');
  return targetType === type && id !== undefined && R4_ID.test(id) && rest.length === 0;
}
