/** The network's consent model, as its genesis set it (DESIGN.md, agreements). */
import type { StateReader } from '../state.js';
import { CONSORTIUM_KEY, CONSORTIUM_TABLE, type ConsentModel, type ConsortiumRow } from './tables.js';

/** The consent model of the network in `state`: 'opt-in' when genesis named none (chains made before the setting existed). */
export function consentModelOf(state: StateReader): ConsentModel {
  return (state.get(CONSORTIUM_TABLE, CONSORTIUM_KEY) as ConsortiumRow | undefined)?.consentModel ?? 'opt-in';
}
