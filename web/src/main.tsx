import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { completeSignIn } from './session.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
completeSignIn().then(
  (returnTo) => {
    if (returnTo !== undefined) location.hash = returnTo;
    root.render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  },
  (error: Error) =>
    root.render(
      <StrictMode>
        <App signInError={error} />
      </StrictMode>,
    ),
);
