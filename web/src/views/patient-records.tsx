/** The patient's own records: problems, medications, allergies, immunisations, visits and labs with trends. */
import { useLoaded, useRecordChanges } from '../hooks.js';
import {
  conceptText,
  dateOf,
  patientQuery,
  quantityOf,
  searchAll,
  trends,
  type Resource,
} from '../fhir.js';
import { Show } from '../components/feedback.js';
import { TrendChart } from '../components/trend-chart.js';

const SECTIONS: readonly [string, string, (r: Resource) => string][] = [
  ['Condition', 'Problems', (r) => conceptText(r['code'])],
  ['MedicationRequest', 'Medications', (r) => conceptText(r['medicationCodeableConcept'])],
  ['AllergyIntolerance', 'Allergies', (r) => conceptText(r['code'])],
  ['Immunization', 'Immunisations', (r) => conceptText(r['vaccineCode'])],
  [
    'Encounter',
    'Visits',
    (r) => conceptText((r['type'] as unknown[] | undefined)?.[0] ?? r['class']),
  ],
];

async function loadRecords(patientId: string): Promise<Map<string, Resource[]>> {
  const types = [...SECTIONS.map(([type]) => type), 'Observation'];
  const lists = await Promise.all(
    types.map((type) => searchAll(type, patientQuery(type, patientId))),
  );
  return new Map(types.map((type, i) => [type, lists[i]!]));
}

export function PatientRecords({ patientId }: { patientId: string }) {
  const loaded = useLoaded(() => loadRecords(patientId), [patientId]);
  useRecordChanges(loaded.reload);
  return (
    <>
      <h1>My records</h1>
      <Show loaded={loaded} what="your records">
        {(records) => (
          <>
            <Labs observations={records.get('Observation') ?? []} />
            {SECTIONS.map(([type, title, name]) => (
              <Section key={type} title={title} resources={records.get(type) ?? []} name={name} />
            ))}
          </>
        )}
      </Show>
    </>
  );
}

function Section({
  title,
  resources,
  name,
}: {
  title: string;
  resources: Resource[];
  name: (r: Resource) => string;
}) {
  const sorted = [...resources].sort((a, b) => (dateOf(b) || 0) - (dateOf(a) || 0));
  return (
    <section aria-labelledby={`h-${title}`}>
      <h2 id={`h-${title}`}>{title}</h2>
      {sorted.length === 0 ? (
        <p className="muted">None recorded.</p>
      ) : (
        <ul className="records">
          {sorted.slice(0, 100).map((r) => (
            <li key={r.id}>
              {name(r)}{' '}
              <span className="muted">
                {Number.isNaN(dateOf(r)) ? '' : new Date(dateOf(r)).toLocaleDateString()}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Labs({ observations }: { observations: Resource[] }) {
  const groups = trends(observations);
  const latest = [...observations].sort((a, b) => dateOf(b) - dateOf(a)).slice(0, 50);
  return (
    <section aria-labelledby="h-labs">
      <h2 id="h-labs">Labs and vital signs</h2>
      {[...groups]
        .filter(([, group]) => group.points.length >= 2)
        .map(([key, group]) => (
          <TrendChart key={key} title={group.name} unit={group.unit} points={group.points} />
        ))}
      {latest.length === 0 ? (
        <p className="muted">None recorded.</p>
      ) : (
        <table className="observations">
          <caption>Latest results</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Test</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {latest.map((o) => {
              const quantity = quantityOf(o);
              return (
                <tr key={o.id}>
                  <td>{new Date(dateOf(o)).toLocaleDateString()}</td>
                  <td>{conceptText(o['code'])}</td>
                  <td>
                    {quantity === undefined
                      ? conceptText(o['valueCodeableConcept'])
                      : `${quantity.value} ${quantity.unit}`}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
