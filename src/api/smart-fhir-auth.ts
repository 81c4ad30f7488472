/** The SMART bearer tokens of src/api/auth, as the FhirAuth the /fhir routes take. */
import { FhirError } from '../fhir/index.js';
import { allows, AuthError, bearerPrincipal, type AuthServer } from './auth/index.js';
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
