// Reference OIDC provider (node-oidc-provider) used as a benchmark peer.
//
// Loopback only: binds 127.0.0.1. Usage:
//   node server.mjs [PORT]            (or PORT=... node server.mjs)
// Env: BENCH_CLIENT_SECRET overrides the client secret.
//
// One confidential client `bench` (client_secret_basic) with the grant types
// authorization_code, refresh_token and client_credentials. Signing key: a
// fresh RS256 key generated at start. client_credentials tokens are JWT access
// tokens for the resource `urn:bench:api` (resource indicators). The default
// devInteractions (login/consent forms accepting any login) stay enabled so
// the code flow can be driven with plain form posts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const PORT = Number(process.argv[2] ?? process.env.PORT ?? 3000);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error(`invalid port: ${process.argv[2] ?? process.env.PORT}`);
  process.exit(2);
}

const CLIENT_ID = 'bench';
const CLIENT_SECRET = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret-loopback-only-not-for-production';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const API_RESOURCE = 'urn:bench:api';
const API_SCOPES = 'api:read api:write';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `bench-${randomBytes(4).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub, name: `User ${sub}`, email: `${sub}@example.test`, email_verified: true,
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials without an explicit `resource` gets the bench API,
      // so the token is a JWT; the code flow keeps opaque tokens for userinfo.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        if (ctx.oidc.params?.grant_type === 'client_credentials') return API_RESOURCE;
        return undefined;
      },
      async useGrantedResource() {
        return false;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator === API_RESOURCE) {
          return {
            scope: API_SCOPES,
            audience: API_RESOURCE,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
  // Rotate on every use so the refresh benchmark exercises a rotating chain.
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
};

const provider = new Provider(`http://${HOST}:${PORT}`, configuration);
const server = provider.listen(PORT, HOST, () => {
  console.log(`node-oidc-provider listening on http://${HOST}:${PORT} pid=${process.pid}`);
});

function shutdown(signal) {
  console.log(`received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
