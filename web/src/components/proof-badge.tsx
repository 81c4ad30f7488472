/** A badge that checks one transaction's RFC 9162 inclusion proof in this browser, against its signed tree head. */
import { useEffect, useState } from 'react';
import { checkInclusion, type InclusionProof } from '../ledger-check.js';

type Verdict = { state: 'checking' } | { state: 'verified' } | { state: 'failed'; why: string };

export function ProofBadge({ proof, txId }: { proof: InclusionProof; txId: string }) {
  const [verdict, setVerdict] = useState<Verdict>({ state: 'checking' });
  useEffect(() => {
    let live = true;
    checkInclusion(proof, txId).then(
      () => live && setVerdict({ state: 'verified' }),
      (error: Error) => live && setVerdict({ state: 'failed', why: error.message }),
    );
    return () => {
      live = false;
    };
  }, [proof, txId]);
  if (verdict.state === 'checking') return <span className="badge">checking…</span>;
  if (verdict.state === 'verified')
    return (
      <span
        className="badge ok"
        title={`In the signed log at position ${proof.leafIndex} of ${proof.treeSize}, checked in this browser`}
      >
        ✓ proof verified
      </span>
    );
  return (
    <span className="badge bad" role="alert">
      ✗ proof failed: {verdict.why}
    </span>
  );
}
