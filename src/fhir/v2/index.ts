/** HL7 v2 to FHIR: the messages taken, their mapping to transaction Bundles, and v2 field reading. */
export {
  parseV2,
  v2Bundle,
  V2_EVENTS,
  V2MessageError,
  type V2Event,
  type V2Message,
} from './message.js';
export { escapeV2, unescapeV2, fhirDateTime } from './fields.js';
export { v2Text, v2TextAnyway } from './charset.js';
