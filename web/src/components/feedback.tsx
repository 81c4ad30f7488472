/** How the app shows waiting, failures and done things: in words, announced to screen readers. */
import type { ReactNode } from 'react';
import type { Loaded } from '../hooks.js';

export function Problem({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  return (
    <p role="alert" className="problem">
      {error.message}
    </p>
  );
}

export function Done({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="done">
      {children}
    </p>
  );
}

/** Renders `children(data)` once `loaded` has data; a status line while waiting, the problem when it failed. */
export function Show<T>({
  loaded,
  children,
  what,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (loaded.error !== undefined) return <Problem error={loaded.error} />;
  if (loaded.data === undefined)
    return (
      <p role="status" className="muted">
        Loading {what}…
      </p>
    );
  return <>{children(loaded.data)}</>;
}

/** A short explanation of what the ledger does and does not guarantee, where it matters. */
export function Explain({ children }: { children: ReactNode }) {
  return (
    <aside className="explain">
      <span aria-hidden="true">ⓘ </span>
      {children}
    </aside>
  );
}
