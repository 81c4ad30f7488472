/** The app's frame: sign-in, the role's navigation, the ledger banner, and the view the address names. */
import { useEffect, useState, type ReactNode } from 'react';
import { sessionEnded } from './node-api.js';
import { currentSession, signIn, signOut, type Role, type Session } from './session.js';
import { useRoute } from './hooks.js';
import { LedgerBanner } from './components/ledger-banner.js';
import { Problem, Explain } from './components/feedback.js';
import { ErrorBoundary } from './components/error-boundary.js';
import { PatientRecords } from './views/patient-records.js';
import { AccessTrail } from './views/access-trail.js';
import { Sharing } from './views/sharing.js';
import { Notifications } from './views/notifications.js';
import { PatientSearch } from './views/patient-search.js';
import { Chart } from './views/chart.js';
import { Dashboard } from './views/dashboard.js';
import { Explorer } from './views/explorer.js';
import { Reviews } from './views/reviews.js';
import { Erasure } from './views/erasure.js';
import { AccessSearch } from './views/access-search.js';
import { Agreements, Erasures } from './views/registry.js';

const NAV: Record<Role, readonly [string, string][]> = {
  patient: [
    ['records', 'My records'],
    ['access', 'Who accessed my record'],
    ['sharing', 'Sharing'],
    ['notifications', 'Notifications'],
    ['erasure', 'Erasure'],
  ],
  clinician: [['patients', 'Patients']],
  auditor: [
    ['dashboard', 'Dashboard'],
    ['blocks', 'Blocks'],
    ['reviews', 'Break-the-glass reviews'],
    ['accesses', 'Access search'],
    ['erasures', 'Erasures'],
    ['agreements', 'Agreements'],
  ],
};

function view(session: Session, route: string[]): ReactNode {
  const [page = NAV[session.role][0]![0], id] = route;
  switch (`${session.role}:${page}`) {
    case 'patient:records':
      return <PatientRecords patientId={session.patient!} />;
    case 'patient:access':
      return <AccessTrail />;
    case 'patient:sharing':
      return <Sharing patientId={session.patient!} />;
    case 'patient:notifications':
      return <Notifications patientId={session.patient!} />;
    case 'patient:erasure':
      return <Erasure patientId={session.patient!} />;
    case 'clinician:patients':
      return <PatientSearch />;
    case 'clinician:chart':
      return <Chart patientId={id ?? ''} />;
    case 'auditor:dashboard':
      return <Dashboard />;
    case 'auditor:blocks':
      return <Explorer height={id === undefined ? undefined : Number(id)} />;
    case 'auditor:reviews':
      return <Reviews />;
    case 'auditor:accesses':
      return <AccessSearch />;
    case 'auditor:erasures':
      return <Erasures />;
    case 'auditor:agreements':
      return <Agreements />;
    default:
      return <p>There is no such page. Choose one above.</p>;
  }
}

export function App({ signInError }: { signInError?: Error }) {
  const [session, setSession] = useState<Session | undefined>(currentSession);
  const [ended, setEnded] = useState<Role | undefined>();
  const route = useRoute();
  useEffect(() => {
    const onEnded = () => {
      setEnded(currentSession()?.role ?? session?.role);
      setSession(undefined);
    };
    sessionEnded.addEventListener('ended', onEnded);
    // A view's first request may have found the session over before this listener existed.
    if (session !== undefined && currentSession() === undefined) onEnded();
    return () => sessionEnded.removeEventListener('ended', onEnded);
  }, [session]);
  if (session === undefined) return <SignIn error={signInError} ended={ended} />;
  const page = route[0] ?? NAV[session.role][0]![0];
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span className="brand">ChartChain</span>
        <nav aria-label="Main">
          <ul>
            {NAV[session.role].map(([path, label]) => (
              <li key={path}>
                <a href={`#/${path}`} aria-current={page === path ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {session.fhirUser ?? session.role}
          {session.org === undefined ? '' : ` · ${session.org}`}
        </span>
        <button type="button" onClick={() => void signOut().then(() => setSession(undefined))}>
          Sign out
        </button>
      </header>
      <LedgerBanner />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={route.join('/')}>{view(session, route)}</ErrorBoundary>
      </main>
    </>
  );
}

function SignIn({ error, ended }: { error: Error | undefined; ended: Role | undefined }) {
  const returnTo = location.hash || '#/';
  return (
    <main id="main" className="sign-in">
      <h1>ChartChain</h1>
      <p>
        Your health record, shared only as you decide, with every access written to a ledger that no
        single organisation can rewrite.
      </p>
      {ended !== undefined && (
        <p role="alert" className="problem">
          Your session has ended. Sign in again to go on; what you were typing is kept.
        </p>
      )}
      <Problem error={error} />
      <div className="roles">
        <button type="button" onClick={() => void signIn('patient', returnTo)}>
          Sign in as a patient
        </button>
        <button type="button" onClick={() => void signIn('clinician', returnTo)}>
          Sign in as a clinician
        </button>
        <button type="button" onClick={() => void signIn('auditor', returnTo)}>
          Sign in as a privacy officer or auditor
        </button>
      </div>
      <Explain>
        Every read of your record, and every refusal, is logged on the ledger before anything is
        shown, and this app checks the log's signed proofs itself. What the ledger cannot do: undo a
        read that already happened, or see a read by someone who holds the keys and never logs it.
        It can only make sure that what is logged can never be quietly changed.
      </Explain>
    </main>
  );
}
