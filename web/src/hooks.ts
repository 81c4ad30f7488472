/** Small React hooks the views share: loading a value from the node, and drafts that survive a sign-in. */
import { useCallback, useEffect, useState } from 'react';
import { followTrail } from './trail.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` now and whenever `deps` change; `reload` runs it again. */
export function useLoaded<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) =>
        live &&
        setState({
          error: error instanceof Error ? error : new Error(String(error)),
          loading: false,
        }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

const DRAFT_PREFIX = 'chartchain:draft:';

/** A form's state kept in sessionStorage under `key`, so an expired session's sign-in loses nothing; `clear` after it is sent. */
export function useDraft<T extends object>(
  key: string,
  initial: T,
): [T, (next: T) => void, () => void] {
  const [value, setValue] = useState<T>(() => {
    const saved = sessionStorage.getItem(DRAFT_PREFIX + key);
    return saved === null ? initial : { ...initial, ...(JSON.parse(saved) as T) };
  });
  const update = useCallback(
    (next: T) => {
      setValue(next);
      sessionStorage.setItem(DRAFT_PREFIX + key, JSON.stringify(next));
    },
    [key],
  );
  const clear = useCallback(() => {
    sessionStorage.removeItem(DRAFT_PREFIX + key);
    setValue(initial);
  }, [key]);
  return [value, update, clear];
}

/** The hash route, e.g. `#/chart/patient-0001` → ['chart', 'patient-0001']. */
export function useRoute(): string[] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map(decodeURIComponent);
}

/** Calls `changed` whenever the node pushes a new version of one of the signed-in patient's records. */
export function useRecordChanges(changed: () => void): void {
  useEffect(() => followTrail(undefined, { onRecord: changed }), [changed]);
}
