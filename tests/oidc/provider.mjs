// A real OpenID Connect provider (npm `oidc-provider`, pinned in package.json) on 127.0.0.1 for
// the dashboard sign-in tests of `muster serve` (crates/muster-server/tests/it/oidc.rs, and the
// Chromium test in dashboard.rs via tests/e2e/dashboard.mjs; started by tests/it/provider.rs).
//
//   REDIRECT_URI=http://127.0.0.1:8440/callback CLIENT_SECRET=... node provider.mjs
//
// PORT (default 0: any free port); ID_TOKEN_ALG (default RS256) signs the client's ID tokens. Prints `listening <port>` once it answers; the issuer is
// http://127.0.0.1:<port>. One confidential client `muster` (PKCE required). The development
// interactions take any password: the test posts the login form (`login` = an account below)
// and then the consent form. The ID token carries `name` and `groups` (conformIdTokenClaims
// off), so the relying party maps roles from the ID token alone. It exits when its standard
// input closes, so it never outlives the test that started it.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
const clientSecret = process.env.CLIENT_SECRET;
if (!redirectUri || !clientSecret) {
  console.error('provider.mjs needs REDIRECT_URI and CLIENT_SECRET in the environment');
  process.exit(2);
}

// Signing keys made at each start (RSA and P-256), so ID tokens can be RS256 or ES256.
const jwk = (type, options, kid) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  kid,
  use: 'sig',
});
const jwks = {
  keys: [jwk('rsa', { modulusLength: 2048 }, 'rsa-1'), jwk('ec', { namedCurve: 'P-256' }, 'ec-1')],
};

const accounts = {
  alice: { name: 'Alice Admin', groups: ['staff', 'muster-admins'] },
  victor: { name: 'Victor Viewer', groups: ['staff', 'muster-viewers'] },
  mallory: { name: 'Mallory Nobody', groups: ['staff'] },
};

const server = http.createServer();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: 'muster',
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: process.env.ID_TOKEN_ALG ?? 'RS256',
    }],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
    jwks,
    cookies: { keys: ['muster-oidc-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
