/**
 * HL7 v2 over MLLP into a node on a free loopback port: real-world-shaped ADT and ORU messages
 * (repetitions, escapes, non-ASCII names, NTE, Z-segments) become FHIR resources a clinician
 * reads over FHIR; a resent message writes nothing twice; bad messages get a named AE or AR.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { seedDemo } from '../src/cli/demo-seed.js';
import { login } from '../src/cli/login.js';
import { mllpExchange } from '../src/api/testonly/mllp-client.js';
import type { ChartChainNode } from '../src/node/index.js';
import { startFhirServer } from './fhir-server.js';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/hl7v2/${name}`, import.meta.url), 'utf8');

/** The demo node serving FHIR and, on a free loopback port, MLLP; both ports returned. */
async function serveWithMllp(
  t: TestContext,
): Promise<{ origin: string; mllpPort: number; node: ChartChainNode }> {
  let mllpPort = 0;
  const { origin, node } = await startFhirServer(t, {
    prepare: async (node) => assert.equal(await seedDemo(node), true),
    server: {
      mllp: {
        host: '127.0.0.1',
        port: 0,
        practitionerId: 'v2-interface',
        onListening: (port) => (mllpPort = port),
      },
    },
  });
  assert.ok(mllpPort > 0, 'the MLLP listener is up once the server is');
  return { origin, mllpPort, node };
}

/** MSA-1 and MSA-2 of an ACK, and its ERR text. */
function msa(ack: string): { code: string; controlId: string; error: string } {
  const segments = ack.split('\r').map((segment) => segment.split('|'));
  const msaSegment = segments.find((fields) => fields[0] === 'MSA')!;
  const err = segments.find((fields) => fields[0] === 'ERR');
  return { code: msaSegment[1]!, controlId: msaSegment[2]!, error: err?.[8] ?? '' };
}

test('ADT and ORU messages over MLLP become FHIR resources, acknowledged once durable, never written twice', async (t) => {
  const { origin, mllpPort } = await serveWithMllp(t);
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const fhir = async (path: string) => {
    const response = await fetch(`${origin}/fhir/${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { entry?: { resource: Record<string, unknown> }[] };
  };
  const mrn = encodeURIComponent('urn:chartchain:v2:authority:ST-MARY|MRN-77001');

  const [admitted] = await mllpExchange(mllpPort, [fixture('adt-a01.hl7')]);
  assert.deepEqual(msa(admitted!), { code: 'AA', controlId: 'ADT-0001', error: '' });
  const patients = await fhir(`Patient?identifier=${mrn}`);
  assert.equal(patients.entry?.length, 1, 'read right after the ACK: the write is committed');
  const patient = patients.entry![0]!.resource;
  assert.deepEqual(patient['name'], [{ family: "Ñúñez-O'Brien", given: ['José', 'María'] }]);
  assert.equal(patient['birthDate'], '1958-03-12');
  assert.equal(patient['gender'], 'male');
  assert.deepEqual((patient['address'] as { line: string[] }[])[0]!.line, [
    "12 Rue de l'Église&Annexe",
  ]);
  assert.equal((patient['identifier'] as unknown[]).length, 2, 'both PID-3 repetitions');
  const patientId = String(patient['id']);
  const encounters = await fhir(`Encounter?subject=Patient/${patientId}`);
  assert.equal(encounters.entry?.length, 1);
  assert.equal((encounters.entry![0]!.resource['class'] as { code: string }).code, 'IMP');

  const [resent] = await mllpExchange(mllpPort, [fixture('adt-a01.hl7')]);
  assert.equal(msa(resent!).code, 'AA');
  assert.equal(
    (await fhir(`Patient?identifier=${mrn}`)).entry?.length,
    1,
    'a resend writes no second patient',
  );
  assert.equal((await fhir(`Encounter?subject=Patient/${patientId}`)).entry?.length, 1);

  const [results] = await mllpExchange(mllpPort, [fixture('oru-r01.hl7')]);
  assert.deepEqual(msa(results!), { code: 'AA', controlId: 'LAB-0001', error: '' });
  const observations = (
    await fhir(`Observation?subject=Patient/${patientId}&_count=50`)
  ).entry!.map((entry) => entry.resource);
  assert.equal(observations.length, 10, 'one Observation per OBX');
  const byCode = (code: string) =>
    observations.find(
      (o) => (o['code'] as { coding: { code: string }[] }).coding[0]!.code === code,
    )!;
  assert.deepEqual(byCode('2345-7')['valueQuantity'], {
    value: 105,
    unit: 'mg/dL',
    system: 'http://unitsofmeasure.org',
    code: 'mg/dL',
  });
  assert.deepEqual(byCode('2345-7')['note'], [{ text: 'Fasting specimen, drawn 08:00' }]);
  assert.equal(
    (byCode('2345-7')['interpretation'] as { coding: { code: string }[] }[])[0]!.coding[0]!.code,
    'H',
  );
  assert.deepEqual(byCode('2823-3')['valueQuantity'], {
    value: 3,
    comparator: '<',
    unit: 'mmol/L',
    system: 'http://unitsofmeasure.org',
    code: 'mmol/L',
  });
  assert.equal(byCode('5778-6')['valueString'], 'Pale yellow & clear');
  const reports = (await fhir(`DiagnosticReport?subject=Patient/${patientId}`)).entry!;
  assert.equal((reports[0]!.resource['result'] as unknown[]).length, 10);
  const [again] = await mllpExchange(mllpPort, [fixture('oru-r01.hl7')]);
  assert.equal(msa(again!).code, 'AA');
  assert.equal(
    (await fhir(`Observation?subject=Patient/${patientId}&_count=50`)).entry!.length,
    10,
  );

  const [updated] = await mllpExchange(mllpPort, [fixture('adt-a08.hl7')]);
  assert.equal(msa(updated!).code, 'AA', msa(updated!).error);
  const renamed = (await fhir(`Patient?identifier=${mrn}`)).entry![0]!.resource;
  assert.equal((renamed['name'] as { family: string }[])[0]!.family, "Núñez-O'Brien");
  assert.equal((renamed['meta'] as { versionId: string }).versionId, '2');
});

test('a message that cannot be taken gets a named AE or AR, and writes nothing', async (t) => {
  const { origin, mllpPort } = await serveWithMllp(t);
  const header = (type: string, id: string) =>
    `MSH|^~\\&|LABSYS|QUEST-LAB|CHARTCHAIN|DEMO|20261202101500||${type}|${id}|P|2.5.1`;
  const pid = 'PID|1||MRN-1^^^LAB^MR||Doe^Jane||19700101|F';
  const acks = await mllpExchange(mllpPort, [
    [header('ORU^R01', 'E-1'), pid, 'OBR|1||F-1|24323-8^Panel^LN|||20261202080000'].join('\r'),
    [header('ADT^A03', 'E-2'), pid].join('\r'),
    'this is not a v2 message',
    [header('ADT^A01', 'E-3'), 'PID|1||||Doe^Jane'].join('\r'),
    [header('ORU^R01', 'E-4'), pid, 'OBR|1||F-1|24323-8^Panel^LN', 'OBX|1|NM|^^LN||5|mg'].join(
      '\r',
    ),
  ]);
  assert.deepEqual(
    acks.map((ack) => msa(ack).code),
    ['AE', 'AR', 'AR', 'AE', 'AE'],
  );
  assert.match(msa(acks[0]!).error, /no OBX segment/);
  // ^ travels escaped in a v2 field (\S\).
  assert.match(msa(acks[1]!).error, /ADT\\S\\A03 is not taken here/);
  assert.match(msa(acks[3]!).error, /PID-3 names no patient identifier/);
  assert.match(msa(acks[4]!).error, /OBX-3 names no observation code/);
  assert.equal(msa(acks[0]!).controlId, 'E-1');
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const search = await fetch(`${origin}/fhir/Patient?family=Doe`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.deepEqual(
    ((await search.json()) as { entry?: unknown[] }).entry ?? [],
    [],
    'nothing was written',
  );
});

test('a message the node cannot take now (it cannot write) gets an AR, so the sender sends it again, and writes nothing', async (t) => {
  const { mllpPort, node } = await serveWithMllp(t);
  const height = node.head().height;
  node.halt('a fault this test stands for');
  const [ack] = await mllpExchange(mllpPort, [fixture('oru-r01.hl7')]);
  assert.equal(msa(ack!).code, 'AR', 'HL7 v2.5 2.9.2.2 c: unrelated to its content');
  assert.match(msa(ack!).error, /^503: /);
  assert.doesNotMatch(ack!, /Glucose/, 'the refusal names no value');
  assert.equal(node.head().height, height, 'nothing was written');
});

test('a message in ISO 8859-1 is read as its MSH-18 says; one that is not UTF-8 and says nothing, another version or other delimiters get an AR', async (t) => {
  const { origin, mllpPort } = await serveWithMllp(t);
  const header = (id: string, version = '2.5.1', charset = '') =>
    `MSH|^~\\&|LABSYS|QUEST-LAB|CHARTCHAIN|DEMO|20261202101500||ADT^A04|${id}|P|${version}||||||${charset}`;
  const pid = (mrn: string) => `PID|1||${mrn}^^^LAB^MR||Müller^Jörg||19700101|M`;
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const acks = await mllpExchange(mllpPort, [
    latin1([header('C-1', '2.5.1', '8859/1'), pid('MRN-L1')].join('\r')),
    latin1([header('C-2'), pid('MRN-L2')].join('\r')),
    [header('C-3', '9.9'), pid('MRN-L3')].join('\r'),
    [header('C-4').replace(/\|/g, '#'), pid('MRN-L4').replace(/\|/g, '#')].join('\r'),
    latin1([header('C-5', '2.5.1', 'KOI8-R'), pid('MRN-L5')].join('\r')),
    latin1([header('C-6', '2.7', 'iso ir100'), pid('MRN-L6')].join('\r')),
  ]);
  assert.deepEqual(
    acks.map((ack) => msa(ack).code),
    ['AA', 'AR', 'AR', 'AR', 'AR', 'AA'],
    acks.join('\n'),
  );
  assert.match(msa(acks[1]!).error, /not valid UTF-8; name its character set in MSH-18/);
  assert.match(msa(acks[2]!).error, /MSH-12 \(version\) is not one taken here/);
  assert.match(acks[3]!, /^MSH\|/, 'the AR itself is in the standard delimiters');
  assert.match(msa(acks[4]!).error, /MSH-18 names a character set not taken here/);
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const found = (await (
    await fetch(`${origin}/fhir/Patient?identifier=MRN-L1`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json()) as { entry?: { resource: { name: { family: string; given: string[] }[] } }[] };
  assert.deepEqual(
    found.entry?.map((entry) => [entry.resource.name[0]!.family, entry.resource.name[0]!.given[0]]),
    [['Müller', 'Jörg']],
    'the 8859-1 name, read as such',
  );
});

test('results for a patient new to the node, arriving on several connections at once, create them once', async (t) => {
  const { origin, mllpPort } = await serveWithMllp(t);
  const oru = fixture('oru-r01.hl7');
  const acks = await Promise.all(
    [0, 1, 2, 3].map((i) => mllpExchange(mllpPort, [oru.replace('|LAB-0001|', `|LAB-RACE-${i}|`)])),
  );
  assert.deepEqual(
    acks.flat().map((ack) => msa(ack).code),
    ['AA', 'AA', 'AA', 'AA'],
  );
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const mrn = encodeURIComponent('urn:chartchain:v2:authority:ST-MARY|MRN-77001');
  const found = await fetch(`${origin}/fhir/Patient?identifier=${mrn}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(((await found.json()) as { entry: unknown[] }).entry.length, 1);
});

test('results for a patient whose restriction hides them from the interface are refused, not filed under a second Patient', async (t) => {
  const { origin, mllpPort, node } = await serveWithMllp(t);
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const created = await fetch(`${origin}/fhir/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:chartchain:v2:authority:ST-MARY', value: 'MRN-77001' }],
    }),
  });
  assert.equal(created.status, 201);
  const patientId = ((await created.json()) as { id: string }).id;
  // A restriction naming nothing covers every record from every practitioner, the interface's too.
  const restricted = await node.consent.restrict(
    node.pseudonyms.patientIdOf(patientId)!,
    'restrict-all',
    { resourceTypes: [], labels: [], practitionerIds: [] },
  );
  assert.equal(restricted, 'ok');
  const height = node.head().height;
  const [ack] = await mllpExchange(mllpPort, [fixture('oru-r01.hl7')]);
  assert.equal(msa(ack!).code, 'AE');
  assert.match(msa(ack!).error, /PID-3 names a patient whose records this interface may not write/);
  assert.doesNotMatch(ack!, /MRN-77001|Glucose/, 'the refusal names no value');
  assert.equal(node.head().height, height, 'nothing was written');
});
