/** The per-patient audit trail that the consent, records and access contracts append to. */
export * from './audit-trail.js';
