/** The network's consent model, as its genesis set it (DESIGN.md, agreements). */
import type { StateReader } from '../state.js';
import { CONSORTIUM_KEY, CONSORTIUM, type ConsentModel } from './tables.js';

/** The consent model of the network in `state`: 'opt-in' when genesis named none (chains made before the setting existed). */
export function consentModelOf(state: StateReader): ConsentModel {
  return CONSORTIUM.get(state, CONSORTIUM_KEY)?.consentModel ?? 'opt-in';
}
