/** One entry's provenance (author, organisation, block) and its proof, checked in this browser on one click. */
import { useState } from 'react';
import { call } from '../node-api.js';
import { resourcesOf } from '../node-api.js';
import { verifyVersion, type CheckedVersion } from '../record-proof.js';
import type { Resource } from '../fhir.js';

type State =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'verified'; author: string; org: string; checked: CheckedVersion }
  | { state: 'failed'; why: string };

interface Provenance {
  agent?: { who?: { reference?: string }; onBehalfOf?: { reference?: string } }[];
  target?: { reference?: string }[];
}

export function EntryProvenance({ resource, purpose }: { resource: Resource; purpose: string }) {
  const [state, setState] = useState<State>({ state: 'idle' });
  const vid = resource.meta?.versionId ?? '1';
  const verify = async () => {
    setState({ state: 'checking' });
    const headers = { 'x-purpose-of-use': purpose };
    try {
      const checked = await verifyVersion(resource, vid, headers);
      const provenances = resourcesOf<Provenance>(
        await call(
          `/fhir/Provenance?target=${encodeURIComponent(`${resource.resourceType}/${resource.id}`)}`,
          { headers },
        ),
      );
      const mine =
        provenances.find((p) => p.target?.some((t) => t.reference?.endsWith(`/_history/${vid}`))) ??
        provenances.at(-1);
      setState({
        state: 'verified',
        author: mine?.agent?.[0]?.who?.reference ?? 'unknown',
        org: mine?.agent?.[0]?.onBehalfOf?.reference ?? 'unknown',
        checked,
      });
    } catch (failure) {
      setState({ state: 'failed', why: (failure as Error).message });
    }
  };
  if (state.state === 'idle')
    return (
      <button
        type="button"
        className="small"
        onClick={() => void verify()}
        aria-label={`Verify ${resource.resourceType} ${resource.id} on the ledger`}
      >
        verify
      </button>
    );
  if (state.state === 'checking')
    return (
      <span className="badge" role="status">
        checking…
      </span>
    );
  if (state.state === 'failed')
    return (
      <span className="badge bad" role="alert">
        ✗ {state.why}
      </span>
    );
  return (
    <span className="badge ok" role="status">
      ✓ verified: signed by key {state.checked.signer.slice(0, 8)}… (
      {state.author.replace(/^.*\//, '')} of {state.org.replace(/^.*\//, '')}, as the node's
      Provenance names them), block {state.checked.height}, log entry {state.checked.leafIndex + 1}{' '}
      of {state.checked.treeSize}
    </span>
  );
}
