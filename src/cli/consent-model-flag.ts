/** `--consent-model opt-in|opt-out`, the one flag every command that builds a genesis takes. */
import { CONSENT_MODELS, type ConsentModel } from '../contracts/index.js';

/** The consent model `value` names (opt-out when absent). Throws RangeError naming the flag for anything else. */
export function consentModelFlag(value: string | undefined): ConsentModel {
  const model = value ?? 'opt-out';
  if (!(CONSENT_MODELS as readonly string[]).includes(model))
    throw new RangeError('--consent-model must be opt-in or opt-out');
  return model as ConsentModel;
}
