/** The account activation form and its outcomes, as HTML. Every value is escaped. */
import { PASSWORD_LENGTH_MIN } from './account-admin.js';
import { escapeHtml, htmlDocument } from './login-page.js';

/** The form a user activates their account with; `error` says why the last try failed. */
export function activationPage(action: string, error?: string): string {
  const alert = error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`;
  return htmlDocument(
    'Activate your account · ChartChain',
    `<h1>Activate your ChartChain account</h1><p>Enter the username and the activation code your practice gave you, and choose a password of at least ${PASSWORD_LENGTH_MIN} characters.</p>${alert}` +
      `<form method="post" action="${escapeHtml(action)}">` +
      '<label>Username <input name="username" autocomplete="username" required></label>' +
      '<label>Activation code <input name="code" autocomplete="one-time-code" required></label>' +
      `<label>New password <input type="password" name="password" autocomplete="new-password" minlength="${PASSWORD_LENGTH_MIN}" required></label>` +
      `<label>New password again <input type="password" name="confirm" autocomplete="new-password" minlength="${PASSWORD_LENGTH_MIN}" required></label>` +
      '<button type="submit">Activate</button></form>',
  );
}

/** The page after a successful activation. */
export function activatedPage(): string {
  return htmlDocument(
    'Account activated · ChartChain',
    '<h1>Your account is active</h1><p>Sign in from your app with your username and the password you chose.</p>',
  );
}
