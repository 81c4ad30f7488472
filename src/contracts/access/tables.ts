/** Access state: break-the-glass events and the privacy officers' review queue. */
import { defineTable } from '../table.js';
import { isSealedNote, type SealedNote } from '../records/index.js';

/** btgId (the requesting transaction's id) → BreakTheGlassRow. */
export const BTG_TABLE = 'access_btg';
/** `${patientId}|${practitionerId}` → { btgId } of the latest granted break-the-glass. */
export const BTG_ACTIVE_TABLE = 'access_btg_active';
/** `${orgId}|${btgId}` → { btgId }: granted break-the-glass events awaiting the organisation's review. */
export const BTG_REVIEW_TABLE = 'access_btg_review';

/** The window when a request does not say. */
export const BTG_MINUTES_DEFAULT = 60;
/** Purposes that may break the glass (v3 ActReason ETREAT; BTG from v3 ActReason's break-the-glass code). */
export const BTG_PURPOSES = ['ETREAT', 'BTG'] as const;

/** Who reads: authenticated by their organisation's node (or, for a patient, their home node). */
export interface Principal {
  kind: 'practitioner' | 'patient' | 'auditor' | 'system';
  id: string;
  /** The organisation that authenticated the principal. */
  org: string;
  /** For a system principal, the OAuth client acting: which of the organisation's systems it is. */
  client?: string;
}

/** A break-the-glass event: granted for a window, or denied; and the privacy officer's review. */
export interface BreakTheGlassRow {
  btgId: string;
  patientId: string;
  practitionerId: string;
  org: string;
  purpose: string;
  /** The practitioner's reason, sealed to the patient and the organisation: never plain text on the chain. */
  reason: SealedNote;
  outcome: 'permit' | 'deny';
  denial: string | null;
  start: number;
  end: number;
  review: { justified: boolean; note: SealedNote | null; at: number } | null;
}

/**
 * The sealed notes of a break-the-glass row: its reason and its review's note. A row written
 * before reasons were sealed holds plain text, which has no blob: it yields nothing.
 */
export function sealedNotesOf(row: BreakTheGlassRow): SealedNote[] {
  return [row.reason, row.review?.note].filter(isSealedNote);
}

/** A BTG_ACTIVE_TABLE or BTG_REVIEW_TABLE row: which break-the-glass event it points at. */
export interface BreakTheGlassRef {
  btgId: string;
}

/** The typed tables of access state. */
export const BREAK_THE_GLASS = defineTable<BreakTheGlassRow>(BTG_TABLE);
export const BREAK_THE_GLASS_ACTIVE = defineTable<BreakTheGlassRef>(BTG_ACTIVE_TABLE);
export const BREAK_THE_GLASS_REVIEW = defineTable<BreakTheGlassRef>(BTG_REVIEW_TABLE);
