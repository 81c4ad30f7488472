/** The SMART bearer tokens of src/api/auth, as the FhirAuth the /fhir routes take. */
import { FhirError } from '../fhir/index.js';
import { allows, AuthError, bearerPrincipal, OAuthError, type AuthServer } from './auth/index.js';
import type { FhirAuth } from './fhir-routes.js';

/** FhirAuth over `auth`'s tokens: 401 with a WWW-Authenticate challenge for a bad token, scopes per interaction. */
export function smartFhirAuth(auth: AuthServer): FhirAuth {
  return {
    endpoints: { tokenUrl: auth.urls.token, authorizeUrl: auth.urls.authorize },
    async authenticate(request) {
      try {
        const grant = await bearerPrincipal(request, auth);
        return {
          principal: grant.principal,
          allows: (resourceType, interaction) =>
            allows(grant.scopes, { resourceType, interaction }),
        };
      } catch (error) {
        if (error instanceof OAuthError && error.statusCode === 503) throw unavailable(error);
        if (!(error instanceof AuthError)) throw error;
        const issue = {
          severity: 'error' as const,
          code: error.statusCode === 401 ? ('login' as const) : ('forbidden' as const),
          diagnostics: error.message,
        };
        throw new FhirError(error.statusCode, [issue], { 'WWW-Authenticate': error.challenge() });
      }
    },
  };
}

/** A token that cannot be checked now (its session cannot be told yet): 503, with Retry-After. */
function unavailable(error: OAuthError): FhirError {
  const issue = {
    severity: 'error' as const,
    code: 'transient' as const,
    diagnostics: error.message,
  };
  const headers =
    error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) };
  return new FhirError(error.statusCode, [issue], headers);
}
