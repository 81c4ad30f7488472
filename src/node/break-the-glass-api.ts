/**
 * Break-the-glass at one node: a practitioner's emergency access, the privacy officer's review
 * queue and verdict, and opening the sealed reason and note. The free text never goes on the
 * chain: each is sealed to the patient and this organisation (src/node/sealed-note.ts).
 */
import {
  ACCESS_BREAK_THE_GLASS,
  ACCESS_REVIEW_BREAK_THE_GLASS,
  BTG_REVIEW_TABLE,
  BREAK_THE_GLASS,
  isSealedNote,
  ORGS,
  PATIENTS,
  type BreakTheGlassRow,
  type Principal,
  type SealedNote,
} from '../contracts/index.js';
import { AccessLogUnavailableError, type AccessHost, type Submitted } from './access-api.js';
import type { RecordReader } from './records-api.js';
import { typedTx } from './tx-type.js';
import { sealNote, type NoteContext } from './sealed-note.js';
import { BTG_REASON_LENGTH_MAX } from '../ledger/index.js';

/** A break-the-glass request or review refused by the contract, with its status. */
export class BreakTheGlassRefusedError extends RangeError {
  constructor(readonly status: string) {
    super(`break-the-glass refused: ${status}`);
    this.name = 'BreakTheGlassRefusedError';
  }
}

/**
 * Characters a note may not hold: controls (C0, DEL, C1), lone surrogates, line and paragraph
 * separators, and the bidirectional overrides and isolates, which could make the text after
 * them read differently to the patient or the privacy officer than it was written.
 */
const NOT_IN_A_NOTE = /[\p{Cc}\p{Cs}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** True for a break-the-glass reason or review note: one line of 1 to BTG_REASON_LENGTH_MAX characters, not only spaces, without NOT_IN_A_NOTE. */
export function isNoteText(text: string): boolean {
  return (
    text.trim().length > 0 && text.length <= BTG_REASON_LENGTH_MAX && !NOT_IN_A_NOTE.test(text)
  );
}

/** Who may open a break-the-glass event's notes: the patient, or the organisation that broke the glass. */
export type NoteReader = Extract<RecordReader, { kind: 'organisation' } | { kind: 'patient' }>;

/** The AAD context of a note of `row`: its patient, organisation, practitioner and purpose. */
function contextOf(row: BreakTheGlassRow, kind: NoteContext['kind']): NoteContext {
  return {
    kind,
    patientId: row.patientId,
    org: row.org,
    practitionerId: row.practitionerId,
    purpose: row.purpose,
  };
}

/** What a break-the-glass event's sealed texts say, for a reader holding a key to them. */
export interface BreakTheGlassTexts {
  readonly reason: string;
  /** The review's note; null before a review, or for a review without one. */
  readonly reviewNote: string | null;
}

/** What break-the-glass needs beyond the access path's host: fetching a blob from the peer that holds it. */
export interface BreakTheGlassHost extends AccessHost {
  fetchNote?(note: SealedNote, fromOrg: string): Promise<void>;
}

/** Break-the-glass of one node. */
export class NodeBreakTheGlass {
  constructor(private readonly host: BreakTheGlassHost) {}

  /** Requests break-the-glass for a practitioner and waits for the contract's decision: a granted or denied row, or BreakTheGlassRefusedError. */
  async request(
    principal: Principal,
    patientId: string,
    request: { purpose: string; reason: string; minutes?: number },
  ): Promise<BreakTheGlassRow> {
    const reason = await this.#seal(request.reason, {
      kind: 'break-the-glass-reason',
      patientId,
      org: this.host.orgId,
      practitionerId: principal.id,
      purpose: request.purpose,
    });
    const minutes = request.minutes === undefined ? {} : { minutes: request.minutes };
    const body = {
      principal: { kind: principal.kind, id: principal.id },
      patientId,
      purpose: request.purpose,
      reason,
      ...minutes,
    };
    const txId = await this.#submit(
      this.host.submitAsOrg(...typedTx(ACCESS_BREAK_THE_GLASS, body)),
      reason,
    );
    return BREAK_THE_GLASS.get(this.host.chain.state, txId)!;
  }

  /** The privacy officer's verdict on a break-the-glass event of this organisation, with an optional note. Rejects with BreakTheGlassRefusedError. */
  async review(btgId: string, justified: boolean, note?: string): Promise<void> {
    const row = this.#row(btgId);
    const sealed =
      note === undefined || row === undefined
        ? undefined
        : await this.#seal(note, contextOf(row, 'break-the-glass-review'));
    await this.#submit(
      this.host.submitAsOrg(
        ...typedTx(ACCESS_REVIEW_BREAK_THE_GLASS, {
          btgId,
          justified,
          ...(sealed === undefined ? {} : { note: sealed }),
        }),
      ),
      sealed,
    );
  }

  /** Granted break-the-glass events of this organisation awaiting review, oldest key first. */
  reviewQueue(): BreakTheGlassRow[] {
    const prefix = `${this.host.orgId}|`;
    return this.host.chain
      .stateKeys(BTG_REVIEW_TABLE)
      .filter((key) => key.startsWith(prefix))
      .map((key) => this.#row(key.slice(prefix.length))!);
  }

  /**
   * The reason and review note of `btgId`, opened for `reader`: the patient, or this
   * organisation (its privacy officer), whose keys the note is sealed to; no one else, not even
   * the practitioner who broke the glass. Fetches a ciphertext this node lacks from the
   * organisation that wrote it. Throws RangeError for an unknown event, NoteUnavailableError
   * when the reader holds no key or the text is missing or not what the chain committed to.
   */
  async texts(btgId: string, reader: NoteReader): Promise<BreakTheGlassTexts> {
    const row = this.#row(btgId);
    if (row === undefined) throw new RangeError(`no break-the-glass event ${btgId}`);
    const reviewNote = row.review?.note ?? null;
    return {
      reason: await this.#open(reader, row, row.reason, 'break-the-glass-reason'),
      reviewNote:
        reviewNote === null
          ? null
          : await this.#open(reader, row, reviewNote, 'break-the-glass-review'),
    };
  }

  async #open(
    reader: NoteReader,
    row: BreakTheGlassRow,
    note: SealedNote,
    kind: NoteContext['kind'],
  ): Promise<string> {
    if (!isSealedNote(note)) return String(note); // written before reasons were sealed: plain text on the chain
    await this.host.fetchNote?.(note, row.org).catch(() => {}); // opening reports what is missing
    return this.host.records.openNote(reader, note, contextOf(row, kind));
  }

  /** `text` (1 to BTG_REASON_LENGTH_MAX characters, one line) sealed to the patient's and this organisation's current encryption keys; the contract refuses any other readers. */
  async #seal(text: string, context: NoteContext): Promise<SealedNote> {
    // The contract sees only ciphertext, so the text's bounds are checked here, before sealing.
    if (!isNoteText(text)) throw new BreakTheGlassRefusedError('invalid:bad-body');
    const patient = PATIENTS.get(this.host.chain.state, context.patientId);
    if (patient === undefined) throw new BreakTheGlassRefusedError('denied:no-such-patient');
    const org = ORGS.get(this.host.chain.state, this.host.orgId)!;
    return sealNote(
      this.host.records.blobs,
      text,
      [patient.encryptionKey, org.encryptionKey],
      context,
    );
  }

  /** Waits for `submitting` (as this organisation); a refusal deletes the sealed note's ciphertext, which nothing will reference. Throws AccessLogUnavailableError when the submission is not durable. */
  async #submit(submitting: Promise<Submitted>, sealed: SealedNote | undefined): Promise<string> {
    const result = await submitting;
    if (!result.ok) throw new AccessLogUnavailableError(result.status, result.reason); // the blob collector takes the note later
    const { status } = await this.host.waitForTx(result.txId);
    if (status === 'ok') return result.txId;
    if (sealed !== undefined) this.host.records.blobs.delete(sealed.ciphertextHash);
    throw new BreakTheGlassRefusedError(status);
  }

  #row(btgId: string): BreakTheGlassRow | undefined {
    return BREAK_THE_GLASS.get(this.host.chain.state, btgId);
  }
}
