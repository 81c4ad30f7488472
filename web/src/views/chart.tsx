/**
 * A patient's chart for a clinician: summary panels, visits, labs and vitals with trends; each
 * entry's provenance and a one-click proof check; adding entries; and, when the read is refused,
 * why, with break-the-glass.
 */
import { useState } from 'react';
import { useLoaded } from '../hooks.js';
import { conceptText, dateOf, labelsOf, patientQuery, searchAll, type Resource } from '../fhir.js';
import { call } from '../node-api.js';
import { Explain, Show } from '../components/feedback.js';
import { Labs } from './patient-records.js';
import { nameOf } from './patient-search.js';
import { BreakTheGlass } from './break-the-glass.js';
import { AddEntry } from './add-entry.js';
import { EntryProvenance } from './entry-provenance.js';

const PANELS: readonly [string, string, string][] = [
  ['Condition', 'Problems', 'code'],
  ['MedicationRequest', 'Medications', 'medicationCodeableConcept'],
  ['AllergyIntolerance', 'Allergies', 'code'],
  ['Immunization', 'Immunisations', 'vaccineCode'],
  ['DocumentReference', 'Notes', 'description'],
];

interface ChartData {
  patient: Resource;
  byType: Map<string, Resource[]>;
}

async function loadChart(patientId: string, purpose: string): Promise<ChartData> {
  const headers = { 'x-purpose-of-use': purpose };
  const patient = await call<Resource>(`/fhir/Patient/${encodeURIComponent(patientId)}`, {
    headers,
  });
  const types = [...PANELS.map(([type]) => type), 'Encounter', 'Observation'];
  const lists = await Promise.all(
    types.map((type) => searchAll(type, patientQuery(type, patientId), 2000, headers)),
  );
  return { patient, byType: new Map(types.map((type, i) => [type, lists[i]!])) };
}

export function Chart({ patientId }: { patientId: string }) {
  const [purpose, setPurpose] = useState('TREAT');
  const chart = useLoaded(() => loadChart(patientId, purpose), [patientId, purpose]);
  const refused =
    chart.error !== undefined &&
    'kind' in chart.error &&
    (chart.error.kind === 'not-found' || chart.error.kind === 'forbidden');
  if (refused) {
    return (
      <>
        <h1>Chart of {patientId}</h1>
        <div role="alert" className="problem">
          <p>
            <strong>You may not read this chart.</strong> No consent of the patient, and no care
            relationship, covers you for {purpose === 'TREAT' ? 'treatment' : purpose}; or there is
            no patient with this id. This refusal has been written to the ledger.
          </p>
        </div>
        <BreakTheGlass
          patientId={patientId}
          onGranted={(granted) => {
            setPurpose(granted);
            chart.reload();
          }}
        />
      </>
    );
  }
  return (
    <Show loaded={chart} what="the chart">
      {({ patient, byType }) => (
        <>
          <h1>
            {nameOf(patient)}{' '}
            <span className="muted">
              ({patientId}
              {patient['birthDate'] === undefined ? '' : `, born ${String(patient['birthDate'])}`})
            </span>
          </h1>
          {purpose !== 'TREAT' && (
            <p role="status" className="warning">
              Emergency access (break-the-glass): every read is reported to the patient and reviewed
              by the privacy officer.
            </p>
          )}
          <Explain>
            Each entry shows who wrote it and can be checked against the ledger in this browser.
            Your reads of this chart are logged.
          </Explain>
          <div className="panels">
            {PANELS.map(([type, title, field]) => (
              <section key={type} aria-labelledby={`h-${type}`} className="panel">
                <h2 id={`h-${type}`}>{title}</h2>
                {(byType.get(type) ?? []).length === 0 ? (
                  <p className="muted">None recorded.</p>
                ) : (
                  <ul className="records">
                    {(byType.get(type) ?? []).slice(0, 50).map((r) => (
                      <Entry
                        key={r.id}
                        resource={r}
                        label={
                          conceptText(r[field]) === '—'
                            ? String(r[field] ?? '—')
                            : conceptText(r[field])
                        }
                        purpose={purpose}
                      />
                    ))}
                  </ul>
                )}
              </section>
            ))}
          </div>
          <section aria-labelledby="h-visits">
            <h2 id="h-visits">Visits</h2>
            <ol className="timeline">
              {[...(byType.get('Encounter') ?? [])]
                .sort((a, b) => dateOf(b) - dateOf(a))
                .slice(0, 30)
                .map((r) => (
                  <Entry
                    key={r.id}
                    resource={r}
                    label={`${new Date(dateOf(r)).toLocaleDateString()}: ${conceptText((r['type'] as unknown[] | undefined)?.[0] ?? r['class'])}`}
                    purpose={purpose}
                  />
                ))}
            </ol>
          </section>
          <Labs observations={byType.get('Observation') ?? []} />
          <section aria-labelledby="h-obs-proofs">
            <h2 id="h-obs-proofs">Latest results, with provenance</h2>
            <ul className="records">
              {[...(byType.get('Observation') ?? [])]
                .sort((a, b) => dateOf(b) - dateOf(a))
                .slice(0, 10)
                .map((r) => (
                  <Entry
                    key={r.id}
                    resource={r}
                    label={`${conceptText(r['code'])} ${new Date(dateOf(r)).toLocaleDateString()}`}
                    purpose={purpose}
                  />
                ))}
            </ul>
          </section>
          <AddEntry patientId={patientId} onAdded={chart.reload} />
        </>
      )}
    </Show>
  );
}

function Entry({
  resource,
  label,
  purpose,
}: {
  resource: Resource;
  label: string;
  purpose: string;
}) {
  const labels = labelsOf(resource);
  return (
    <li>
      {label}
      {labels.length > 0 && <span className="label"> {labels.join(', ')}</span>}
      <EntryProvenance resource={resource} purpose={purpose} />
    </li>
  );
}
