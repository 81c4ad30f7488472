/** What `chartchain start` registers with its authorization server for the embedded default. */
import { InMemoryClientRegistry, publicClient } from '../api/index.js';

/** The public client id of the demo login (authorization code + PKCE). */
export const DEMO_CLIENT_ID = 'chartchain-demo';

/** The public client id of the web app the node serves at `/`. */
export const WEB_APP_CLIENT_ID = 'chartchain-web';

/**
 * A registry holding the public clients `start` serves: the command-line login, which may
 * redirect to `origin`/demo/callback or a loopback app, and the web app, which comes back to `origin`/.
 */
export function publicClients(origin: string): InMemoryClientRegistry {
  return new InMemoryClientRegistry([
    publicClient({
      clientId: DEMO_CLIENT_ID,
      redirectUris: [`${origin}/demo/callback`, 'http://127.0.0.1:8765/callback'],
    }),
    publicClient({ clientId: WEB_APP_CLIENT_ID, redirectUris: [`${origin}/`] }),
  ]);
}
