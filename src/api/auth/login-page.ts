/** The authorization endpoint's HTML: a minimal login form and an error page. Every value is escaped. */

/** What the login form shows and carries. */
export interface LoginView {
  /** Where the form posts to. */
  readonly action: string;
  readonly clientId: string;
  /** The requested scopes, as text. */
  readonly scopes: readonly string[];
  /** The authorization request's parameters, carried through the form as hidden fields. */
  readonly hidden: readonly (readonly [string, string])[];
  /** Why the last attempt failed, if it did. */
  readonly error?: string;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};
const STYLE =
  'body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0}input{display:block;width:100%;padding:.4rem;box-sizing:border-box}.error{color:#a00}';

/** `text` safe to place in HTML text or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => HTML_ESCAPES[character]!);
}

/** A complete HTML page titled `title` around `body` (already escaped), in the sign-in pages' style. */
export function htmlDocument(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>\n<body>${body}</body></html>\n`;
}

/** The login form for an authorization request. */
export function loginPage(view: LoginView): string {
  const scopes = view.scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code></li>`).join('');
  const hidden = view.hidden
    .map(
      ([name, value]) =>
        `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
    )
    .join('');
  const error =
    view.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(view.error)}</p>`;
  return htmlDocument(
    'Sign in · ChartChain',
    `<h1>Sign in to ChartChain</h1><p>The app <strong>${escapeHtml(view.clientId)}</strong> asks for:</p><ul>${scopes}</ul>${error}` +
      `<form method="post" action="${escapeHtml(view.action)}">${hidden}` +
      '<label>Username <input name="username" autocomplete="username" required></label>' +
      '<label>Password <input type="password" name="password" autocomplete="current-password" required></label>' +
      '<label>Authentication code, if your account has one <input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code"></label>' +
      '<button type="submit">Sign in and allow</button></form>',
  );
}

/** A page saying why an authorization request cannot proceed. */
export function errorPage(message: string): string {
  return htmlDocument(
    'Authorization error · ChartChain',
    `<h1>This request cannot be authorized</h1><p class="error">${escapeHtml(message)}</p>`,
  );
}
