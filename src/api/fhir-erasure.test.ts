import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesHolding } from '../storage/testonly/files.js';
import { send, serveCharts, type Answer } from './testonly/served-node-fixture.js';

type Part = { name: string; valueString?: string; valueInstant?: string; part?: Part[] };

function partsNamed(answer: Answer, name: string): Part[] {
  assert.equal(answer.body['resourceType'], 'Parameters', JSON.stringify(answer.body));
  return (answer.body['parameter'] as Part[]).filter((part) => part.name === name);
}

function outcome(answer: Answer, status: number): string {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body['resourceType'], 'OperationOutcome');
  return (answer.body['issue'] as { code: string }[])[0]!.code;
}

test('$erase: the patient erases their own record and follows its receipts; nobody else erases it, nor learns of it', async (t) => {
  const { app, node, as } = await serveCharts(t);
  const url = '/fhir/Observation/hba1c-1';
  assert.equal(
    outcome(await send(app, 'GET', `${url}/$erasure`, as.patient), 404),
    'not-found',
    'not erased yet',
  );
  for (const who of ['doctor', 'other', 'auditor', 'system'] as const) {
    assert.equal(
      outcome(await send(app, 'POST', `${url}/$erase`, as[who]), 404),
      'not-found',
      `${who} may not erase it, and is not told it exists`,
    );
  }
  outcome(await send(app, 'POST', `${url}/$erase`, as.none), 401);
  assert.equal(
    outcome(await send(app, 'POST', '/fhir/Observation/hba1c-2/$erase', as.patient), 404),
    'not-found',
    "another patient's record",
  );
  assert.equal(
    (await send(app, 'GET', url, as.patient)).status,
    200,
    'nothing refused changed anything',
  );

  const erased = await send(app, 'POST', `${url}/$erase`, as.patient);
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  assert.equal(partsNamed(erased, 'requestedBy')[0]!.valueString, 'patient');
  assert.ok(partsNamed(erased, 'requestedAt')[0]!.valueInstant);
  outcome(await send(app, 'GET', url, as.patient), 410);
  assert.equal(
    outcome(await send(app, 'POST', `${url}/$erase`, as.patient), 410),
    'deleted',
    'erased once',
  );

  // This node confirms deleting the ciphertext as the erasure's block commits.
  for (
    const deadline = Date.now() + 10_000;
    partsNamed(await send(app, 'GET', `${url}/$erasure`, as.patient), 'confirmed').length === 0;
    await new Promise((resolve) => setTimeout(resolve, 20))
  ) {
    assert.ok(Date.now() < deadline, 'the node confirms its deletion');
  }
  const receipts = await send(app, 'GET', `${url}/$erasure`, as.patient);
  assert.deepEqual(
    partsNamed(receipts, 'confirmed').map((part) => part.part![0]!.valueString),
    [node.config.orgId],
  );
  assert.deepEqual(partsNamed(receipts, 'awaiting'), []);
  assert.equal(
    (await send(app, 'GET', `${url}/$erasure`, as.auditor)).status,
    200,
    'the privacy officer tracks erasures',
  );
  outcome(await send(app, 'GET', `${url}/$erasure`, as.other), 404);
});

test("after $erase, no file of the node holds the record's FHIR id, which still answers 410", async (t) => {
  const { app, node, as } = await serveCharts(t);
  // Ids a client chose, as a clinic's EHR might: the id itself can name the patient.
  const erasedId = 'hba1c-1';
  const keptId = 'hba1c-2';
  for (const id of [erasedId, keptId])
    assert.deepEqual(filesHolding(node.dataDir, id).length > 0, true, `${id} is in the map`);
  const url = `/fhir/Observation/${erasedId}`;
  assert.equal((await send(app, 'POST', `${url}/$erase`, as.patient)).status, 200);
  for (
    const deadline = Date.now() + 10_000;
    filesHolding(node.dataDir, erasedId).length > 0;
    await new Promise((resolve) => setTimeout(resolve, 20))
  ) {
    assert.ok(Date.now() < deadline, `still in ${filesHolding(node.dataDir, erasedId).join(', ')}`);
  }
  assert.notDeepEqual(filesHolding(node.dataDir, keptId), [], 'the search finds an id kept');
  outcome(await send(app, 'GET', url, as.patient), 410);
  assert.equal(
    (await send(app, 'GET', `${url}/$erasure`, as.patient)).status,
    200,
    'the patient follows the erasure by the id they know',
  );
  outcome(await send(app, 'GET', `/fhir/Observation/hba1c-9`, as.patient), 404);
  // The patient's trail names the record by the digest now standing for its id, and the
  // erasure is followed through it, as the web app does.
  const recordId = node.pseudonyms.recordIdOf('Observation', erasedId)!;
  const named = node.pseudonyms.fhirIdOf(recordId)!;
  assert.match(named.id, /^~/);
  assert.equal(
    (await send(app, 'GET', `/fhir/Observation/${named.id}/$erasure`, as.patient)).status,
    200,
  );
});
