/**
 * The banner that says whether this browser could check the ledger: the node's signed tree
 * head, and that it extends the last one this browser saw. Red, saying what failed, when not.
 */
import { useEffect, useState } from 'react';
import { checkTreeHead } from '../ledger-check.js';
import type { TreeHead } from '../tree-head.js';

type Check =
  | { state: 'checking' }
  | { state: 'ok'; head: TreeHead; at: number }
  | { state: 'failed'; why: string };

export function LedgerBanner({
  onChecked,
}: {
  onChecked?: (check: { ok: boolean; at: number }) => void;
}) {
  const [check, setCheck] = useState<Check>({ state: 'checking' });
  useEffect(() => {
    checkTreeHead().then(
      (head) => {
        setCheck({ state: 'ok', head, at: Date.now() });
        onChecked?.({ ok: true, at: Date.now() });
      },
      (error: Error) => {
        setCheck({ state: 'failed', why: error.message });
        onChecked?.({ ok: false, at: Date.now() });
      },
    );
  }, [onChecked]);
  if (check.state === 'checking')
    return (
      <div className="banner" role="status">
        Checking the ledger in this browser…
      </div>
    );
  if (check.state === 'failed') {
    return (
      <div className="banner bad" role="alert" data-ledger="failed">
        <strong>Ledger check failed.</strong> {check.why}. Do not rely on what this node shows; tell
        your privacy officer.
      </div>
    );
  }
  return (
    <div className="banner ok" role="status" data-ledger="verified">
      Ledger verified in this browser: {check.head.logSize} signed entries, block{' '}
      {check.head.height}, consistent with what this browser saw before.
    </div>
  );
}
