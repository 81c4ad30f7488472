/** The clinician's patient search: the patients they may read, and a chart opened by id. */
import { useState } from 'react';
import { searchFound, type Found, type Resource } from '../fhir.js';
import { basisWords } from '../plain-words.js';
import { Problem } from '../components/feedback.js';
import { useDraft } from '../hooks.js';

export function nameOf(patient: Resource): string {
  const name = (
    patient['name'] as { text?: string; given?: string[]; family?: string }[] | undefined
  )?.[0];
  return (
    name?.text ??
    ([...(name?.given ?? []), name?.family ?? ''].join(' ').trim() || (patient.id ?? ''))
  );
}

export function PatientSearch() {
  const [query, setQuery] = useDraft('patient-search', { name: '', id: '' });
  const [found, setFound] = useState<Found[] | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const search = async () => {
    setError(undefined);
    try {
      setFound(
        await searchFound(
          'Patient',
          query.name.trim() === '' ? {} : { name: query.name.trim() },
          200,
        ),
      );
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <>
      <h1>Patients</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
        className="inline"
      >
        <label>
          Name{' '}
          <input
            value={query.name}
            onChange={(event) => setQuery({ ...query, name: event.target.value })}
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <Problem error={error} />
      {found !== undefined && (
        <table>
          <caption>
            {found.length} patients you may read (each search is logged; patients you may not read
            are not shown)
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Born</th>
              <th scope="col">Id</th>
              <th scope="col">Access</th>
            </tr>
          </thead>
          <tbody>
            {found.map(({ resource: patient, basis }) => (
              <tr key={patient.id}>
                <td>
                  <a href={`#/chart/${encodeURIComponent(patient.id ?? '')}`}>{nameOf(patient)}</a>
                </td>
                <td>{String(patient['birthDate'] ?? '—')}</td>
                <td>{patient.id}</td>
                <td>
                  you may read, on the basis of{' '}
                  {basisWords(basis).replace(/^your /, "the patient's ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          location.hash = `#/chart/${encodeURIComponent(query.id.trim())}`;
        }}
        className="inline"
      >
        <label>
          Open a chart by patient id{' '}
          <input
            value={query.id}
            onChange={(event) => setQuery({ ...query, id: event.target.value })}
          />
        </label>
        <button type="submit" disabled={query.id.trim() === ''}>
          Open chart
        </button>
      </form>
    </>
  );
}
