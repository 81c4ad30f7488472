/**
 * Taking an HL7 v2 message (src/fhir/v2 maps it): its transaction Bundle is validated, written and
 * anchored like any FHIR write, signed by this organisation's interface practitioner, and the
 * message is acknowledged (AA) only once that has committed. An error in the message is an AE
 * naming what is wrong (never a value from it); a message not taken here, or not now (the node
 * unable to write), is an AR. A message resent with the same control id (MSH-10) gets its first
 * answer again and writes nothing.
 */
import { Hl7Message, Hl7Segment } from '@medplum/core';
import {
  MEMBERSHIP_REGISTER_PRACTITIONER,
  PRACTITIONERS,
  type Principal,
} from '../../contracts/index.js';
import {
  escapeV2,
  FhirError,
  parseV2,
  storageError,
  v2Bundle,
  V2MessageError,
  v2Text,
  v2TextAnyway,
  type FhirService,
  type V2Message,
} from '../../fhir/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { CommitTimeoutError, type NodeFacade } from '../../node/index.js';
import { V2ControlIds } from './control-ids.js';

/** The purpose a feed writes under: the clinical care it serves. */
const PURPOSE = 'TREAT';

export class V2Ingest {
  readonly #taken: V2ControlIds;
  readonly #principal: Principal;
  /** Messages being taken, by sender and control id: a resend waits for the first answer. */
  readonly #inFlight = new Map<string, Promise<string>>();
  /**
   * The last message taken for each patient (PID-3): messages about one patient are written one
   * after another, so two about a patient new to this node cannot both create them.
   */
  readonly #byPatient = new Map<string, Promise<unknown>>();

  constructor(
    private readonly node: NodeFacade,
    private readonly service: FhirService,
    practitionerId: string,
  ) {
    this.#taken = new V2ControlIds(node.dataDir);
    this.#principal = { kind: 'practitioner', id: practitionerId, org: node.config.orgId };
  }

  /** Registers the interface practitioner on the ledger the first time; its keys stay on this node. */
  async ready(): Promise<void> {
    const id = this.#principal.id;
    if (PRACTITIONERS.get(this.node.ledger.state, id) !== undefined) return;
    const keys = this.node.records.enrol('practitioner', id);
    const { status } = await this.node.submitAndWait(
      this.node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: id, ...keys }),
    );
    if (status !== 'ok') throw new Error(`registering v2 interface practitioner ${id}: ${status}`);
  }

  /** The ACK for a message (its bytes as framed, or its text), once whatever it asked for is durable on the ledger. */
  async take(message: string | Uint8Array): Promise<string> {
    let text: string;
    try {
      text = typeof message === 'string' ? message : v2Text(message);
    } catch (error) {
      if (!(error instanceof V2MessageError)) throw error;
      return rejection(v2TextAnyway(message as Uint8Array), error);
    }
    let parsed: V2Message;
    try {
      parsed = parseV2(text);
    } catch (error) {
      if (error instanceof V2MessageError) return rejection(text, error);
      throw error;
    }
    const key = `${parsed.sender}\u0000${parsed.controlId}`;
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const answer = this.#afterPatient(parsed, () => this.#answer(parsed)).finally(() =>
      this.#inFlight.delete(key),
    );
    this.#inFlight.set(key, answer);
    return answer;
  }

  close(): void {
    this.#taken.close();
  }

  /**
   * A Patient with the message's PID-3 that this interface may not see (the patient's consent or
   * restriction keeps it out) would be created again beside the first, under a new pseudonym the
   * restriction does not cover: such a message is refused instead.
   */
  #refuseHiddenPatient(bundle: JsonObject): void {
    const [patientEntry] = bundle['entry'] as { request: { ifNoneExist: string } }[];
    const query = patientEntry!.request.ifNoneExist;
    const caller = { principal: this.#principal, purpose: PURPOSE, mayRead: () => true };
    const { search } = this.service;
    if (
      search.indexHolds('Patient', query) &&
      search.readableMatches(caller, 'Patient', query, 1).length === 0
    )
      throw new V2MessageError(
        'AE',
        'PID-3 names a patient whose records this interface may not write (their consent or restriction); nothing was written',
      );
  }

  /** Runs `take` once every earlier message about the same patient is answered. */
  #afterPatient(parsed: V2Message, take: () => Promise<string>): Promise<string> {
    const pid = parsed.message.getSegment('PID');
    const patient = `${pid?.getComponent(3, 4) ?? ''}|${pid?.getComponent(3, 1) ?? ''}`;
    const earlier = this.#byPatient.get(patient) ?? Promise.resolve();
    const answer = earlier.then(take, take);
    const settled = answer.catch(() => undefined);
    this.#byPatient.set(patient, settled);
    void settled.then(() => {
      if (this.#byPatient.get(patient) === settled) this.#byPatient.delete(patient);
    });
    return answer;
  }

  async #answer(parsed: V2Message): Promise<string> {
    const earlier = this.#taken.taken(parsed.sender, parsed.controlId);
    if (earlier !== undefined) return ack(parsed.message, earlier, 'already taken');
    try {
      await this.#write(parsed);
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === undefined) throw error;
      return ack(parsed.message, refusal.code, refusal.reason);
    }
    this.#taken.record(parsed.sender, parsed.controlId, 'AA', Date.now());
    return ack(parsed.message, 'AA', 'OK');
  }

  async #write(parsed: V2Message): Promise<void> {
    const { bundle, patientUpdate } = v2Bundle(parsed);
    this.#refuseHiddenPatient(bundle);
    await this.service.bundles.execute(this.#principal, bundle, PURPOSE, 'minimal', () => true);
    if (patientUpdate === undefined) return;
    const caller = { principal: this.#principal, purpose: PURPOSE, mayRead: () => true };
    await this.service.conditional.update(
      caller,
      'Patient',
      patientUpdate.query,
      patientUpdate.patient,
    );
  }
}

/** What an AE says: the message's own fault, or the write's OperationOutcome; undefined for a server fault. */
/**
 * How a message that failed with `error` is answered: the message's own AE or AR; an AR when the
 * node could not take it now for a reason unrelated to its content (503: a full disk, a halted
 * node, ids being relearnt; HL7 v2.5 2.9.2.2 c), so the sender sends it again later (every write
 * of a message is a conditional create, so what part of it was written is not written twice);
 * else an AE, for a person to look at: an error in the message, a record failing its integrity
 * checks, or a write accepted but not yet committed (sent again, it could be written twice).
 */
function refusalOf(error: unknown): { code: 'AE' | 'AR'; reason: string } | undefined {
  if (error instanceof V2MessageError) return { code: error.ackCode, reason: error.message };
  const fhir = error instanceof FhirError ? error : storageError(error);
  if (fhir === undefined) return undefined;
  const unrelated = fhir.status === 503 && !(error instanceof CommitTimeoutError);
  return { code: unrelated ? 'AR' : 'AE', reason: `${fhir.status}: ${fhir.message}` };
}

/**
 * An AR for text that is not a message taken here; built from its MSH when there is one in the
 * standard delimiters (an answer in the sender's own would mix them with the ones it adds).
 */
function rejection(text: string, error: V2MessageError): string {
  let message: Hl7Message;
  try {
    if (!text.startsWith('MSH|^~\\&')) throw new Error('no MSH in the standard delimiters');
    message = Hl7Message.parse(text.replace(/\r?\n/g, '\r'));
    if (message.getSegment('MSH')?.name !== 'MSH') throw new Error('no MSH');
  } catch {
    message = Hl7Message.parse('MSH|^~\\&|||||||ACK||P|2.5.1');
  }
  return ack(message, error.ackCode, error.message);
}

/** The ACK of `message` with `code`; an AE or AR carries an ERR segment with `text`. */
function ack(message: Hl7Message, code: string, text: string): string {
  const errSegment =
    code === 'AA'
      ? undefined
      : new Hl7Segment([
          'ERR',
          '',
          '',
          '207^Application internal error^HL70357',
          'E',
          '',
          '',
          '',
          escapeV2(text),
        ]);
  const reply = message.buildAck({
    ackCode: code as 'AA',
    ...(errSegment === undefined ? {} : { errSegment }),
  });
  reply.getSegment('MSA')?.setField(3, escapeV2(text));
  return reply.toString();
}
