// Local OpenID Connect provider for development and end-to-end tests of the
// Event Bus portal. Built on the OpenID-certified `oidc-provider` package.
//
// NOT FOR PRODUCTION: plain-text demo passwords, in-memory sessions, http issuer.
//
// Configuration (environment):
//   IDP_PORT                          listen port (default 4000; 0 picks a free one, printed
//                                     as "listening on http://<host>:<port>")
//   IDP_HOST                          listen address (default 127.0.0.1)
//   IDP_ISSUER                        issuer URL (default http://127.0.0.1:${IDP_PORT})
//   IDP_STATE_DIR                     where the signing JWKS and cookie keys are persisted
//                                     (default dev/idp/.state next to this script)
//   IDP_USERS_FILE                    demo users (default users.json next to this script); read
//                                     again when it changes, so a test can move a user between
//                                     groups and see the portal follow at the next refresh
//   PORTAL_CLIENT_ID                  default event-bus-portal
//   PORTAL_CLIENT_SECRET              default event-bus-portal-dev-secret
//   PORTAL_REDIRECT_URIS              comma separated (default http://127.0.0.1:3000/auth/callback)
//   PORTAL_POST_LOGOUT_REDIRECT_URIS  comma separated (default http://127.0.0.1:3000/)

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- configuration

function fail(msg) {
  process.stderr.write(`${new Date().toISOString()} [idp] fatal: ${msg}\n`);
  process.exit(1);
}

function envList(name, fallback) {
  const raw = process.env[name];
  const list = (raw === undefined || raw.trim() === '' ? fallback : raw)
    .split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length) fail(`${name} must contain at least one URI`);
  for (const uri of list) {
    if (!URL.canParse(uri)) fail(`${name}: not an absolute URI: ${uri}`);
  }
  return list;
}

const PORT = Number.parseInt(process.env.IDP_PORT || '4000', 10);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  fail(`IDP_PORT is not a valid port: ${process.env.IDP_PORT}`);
}
const HOST = process.env.IDP_HOST || '127.0.0.1';
// With IDP_PORT=0 the issuer is known once the port is.
function issuerFor(port) {
  const issuer = (process.env.IDP_ISSUER || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  if (!URL.canParse(issuer) || new URL(issuer).pathname !== '/') {
    fail(`IDP_ISSUER must be an origin without a path (routes are served at the root): ${issuer}`);
  }
  return issuer;
}
const STATE_DIR = path.resolve(process.env.IDP_STATE_DIR || path.join(HERE, '.state'));
const USERS_FILE = path.resolve(process.env.IDP_USERS_FILE || path.join(HERE, 'users.json'));
const CLIENT_ID = process.env.PORTAL_CLIENT_ID || 'event-bus-portal';
const CLIENT_SECRET = process.env.PORTAL_CLIENT_SECRET || 'event-bus-portal-dev-secret';
const REDIRECT_URIS = envList('PORTAL_REDIRECT_URIS', 'http://127.0.0.1:3000/auth/callback');
const POST_LOGOUT_REDIRECT_URIS = envList('PORTAL_POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1:3000/');

const SCOPES = ['openid', 'profile', 'email', 'groups'];

function log(msg) {
  process.stdout.write(`${new Date().toISOString()} [idp] ${msg}\n`);
}

// ---------------------------------------------------------------- persisted keys

function writePrivateJson(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

// RFC 7638 JWK thumbprint of an RSA key, used as the kid.
function rsaThumbprint({ e, n }) {
  return crypto.hash('sha256', JSON.stringify({ e, kty: 'RSA', n }), 'base64url');
}

function loadOrCreateJwks() {
  const file = path.join(STATE_DIR, 'jwks.json');
  if (fs.existsSync(file)) {
    const jwks = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(jwks.keys) || !jwks.keys.length || !jwks.keys.every((k) => k.d)) {
      throw new Error(`${file} is not a private JWKS; delete it to generate a new key`);
    }
    log(`loaded signing keys from ${file} (kid ${jwks.keys.map((k) => k.kid).join(', ')})`);
    return jwks;
  }
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const key = { ...jwk, kid: rsaThumbprint(jwk), alg: 'RS256', use: 'sig' };
  const jwks = { keys: [key] };
  writePrivateJson(file, jwks);
  log(`generated RS256 signing key ${key.kid} in ${file}`);
  return jwks;
}

function loadOrCreateCookieKeys() {
  const file = path.join(STATE_DIR, 'cookie-keys.json');
  if (fs.existsSync(file)) {
    const keys = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (Array.isArray(keys) && keys.length && keys.every((k) => typeof k === 'string' && k.length >= 32)) {
      return keys;
    }
    throw new Error(`${file} is malformed; delete it to generate new cookie keys`);
  }
  const keys = [crypto.randomBytes(32).toString('base64url')];
  writePrivateJson(file, keys);
  return keys;
}

// ---------------------------------------------------------------- demo users

// The users file as last read, read again whenever it changes on disk.
function watchedUsers() {
  const signature = () => {
    const stat = fs.statSync(USERS_FILE);
    return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
  };
  let users = loadUsers();
  let seen = signature();
  return () => {
    try {
      const now = signature();
      if (now !== seen) {
        users = loadUsers();
        seen = now;
        log(`users reloaded from ${USERS_FILE} (${users.size} users)`);
      }
    } catch (err) {
      log(`keeping the previous users: ${err.message}`);
    }
    return users;
  };
}

function loadUsers() {
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(USERS_FILE, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read users file ${USERS_FILE}: ${err.message}`);
  }
  const list = Array.isArray(raw) ? raw : raw.users;
  if (!Array.isArray(list)) throw new Error(`${USERS_FILE}: expected an array of users`);
  const users = new Map();
  for (const u of list) {
    for (const field of ['username', 'password', 'name', 'email']) {
      if (typeof u[field] !== 'string' || !u[field]) {
        throw new Error(`${USERS_FILE}: user ${JSON.stringify(u.username)} lacks "${field}"`);
      }
    }
    if (!Array.isArray(u.groups) || !u.groups.every((g) => typeof g === 'string')) {
      throw new Error(`${USERS_FILE}: user ${u.username} needs "groups" as an array of strings`);
    }
    if (users.has(u.username)) throw new Error(`${USERS_FILE}: duplicate user ${u.username}`);
    users.set(u.username, Object.freeze({ ...u, groups: [...u.groups] }));
  }
  return users;
}

const digest = (s) => crypto.hash('sha256', String(s), 'buffer');
const DUMMY_DIGEST = digest(crypto.randomBytes(16).toString('hex'));

// Constant-time-ish check; always does the same work whether or not the user exists.
function authenticate(users, username, password) {
  const user = users.get(username);
  const ok = crypto.timingSafeEqual(digest(password), user ? digest(user.password) : DUMMY_DIGEST);
  return user && ok ? user : undefined;
}

// ---------------------------------------------------------------- HTML

const ESCAPES = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;',
};
function esc(value) {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:100%;line-height:1.5;color:#1a1a1a;background:#f3f4f6}
body{margin:0;min-height:100vh;display:flex;align-items:flex-start;justify-content:center;padding:3rem 1rem}
main{width:100%;max-width:26rem;background:#fff;border:1px solid #c4c8cf;border-radius:8px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem}
p{margin:0 0 1rem}
.muted{color:#4a4f57}
form{margin:0}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=text],input[type=password]{display:block;width:100%;font:inherit;padding:.5rem .75rem;color:#1a1a1a;background:#fff;border:1px solid #6b7280;border-radius:4px}
button{display:inline-block;font:inherit;font-weight:600;margin-top:1.5rem;padding:.6rem 1.25rem;color:#fff;background:#1d4ed8;border:2px solid #1d4ed8;border-radius:4px;cursor:pointer}
button:hover{background:#1e40af;border-color:#1e40af}
a{color:#1d4ed8}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #b45309;outline-offset:2px}
input:focus{border-color:#1d4ed8}
.alert{margin:1rem 0 0;padding:.75rem 1rem;border:1px solid #b91c1c;border-left-width:6px;border-radius:4px;background:#fef2f2;color:#7f1d1d}
.alert:empty{display:none}
dl{margin:1rem 0 0}dt{font-weight:600}dd{margin:0 0 .5rem;word-break:break-word}
.client{font-size:.875rem;margin-top:1.5rem}
`;

const LOGOUT_SCRIPT = "document.getElementById('op.logoutForm').submit();";
const cspHash = (s) => `'sha256-${crypto.hash('sha256', s, 'base64')}'`;
// No form-action: Chromium applies it to the redirect chain after the form post,
// which ends on the portal's origin.
const CSP = [
  "default-src 'none'",
  `style-src ${cspHash(CSS)}`,
  `script-src ${cspHash(LOGOUT_SCRIPT)}`,
  'img-src data:',
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} - Event Bus sign-in</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function securityHeaders(set) {
  set('Content-Security-Policy', CSP);
  set('X-Frame-Options', 'DENY');
  set('X-Content-Type-Options', 'nosniff');
  set('Referrer-Policy', 'no-referrer');
  set('Cache-Control', 'no-store');
}

function loginPage({ uid, clientName, username = '', error }) {
  return page('Sign in', `<h1>Sign in to the Event Bus</h1>
<p class="muted">Development identity provider. Use one of the demo accounts.</p>
<div id="login-error" class="alert" role="alert">${error ? esc(error) : ''}</div>
<form method="post" action="/interaction/${esc(uid)}/login" novalidate>
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${esc(username)}"${error ? ' aria-invalid="true" aria-describedby="login-error"' : ''}${username ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${error ? ' aria-invalid="true" aria-describedby="login-error"' : ''}${username ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<p class="client muted">Signing in to ${esc(clientName)}.</p>`);
}

// `html` must already be escaped.
function messagePage(title, heading, html) {
  return page(title, `<h1>${esc(heading)}</h1>\n${html}`);
}

// ---------------------------------------------------------------- provider

function buildProvider(currentUsers, issuer) {
  const client = {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'Event Bus portal',
    application_type: 'web',
    // Refresh tokens let the portal read a person's groups again while they stay signed in.
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
    post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS,
    // client_secret_post is accepted as well: oidc-provider treats the two
    // secret methods as interchangeable for a client registered with either.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  };

  const configuration = {
    clients: [client],
    jwks: loadOrCreateJwks(),
    cookies: {
      keys: loadOrCreateCookieKeys(),
      // The portal runs on the same host (127.0.0.1) and cookies ignore ports,
      // so use names that cannot clash with the portal's own cookies.
      names: {
        session: 'eb_idp_session',
        interaction: 'eb_idp_interaction',
        resume: 'eb_idp_interaction_resume',
      },
      // `secure` is left unset: oidc-provider turns it on by itself only when the
      // request is https (ctx.secure), so cookies work on plain http://127.0.0.1.
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: SCOPES,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // Put the scope-requested claims (name, email, groups) into the ID token
    // even though an access token is issued too.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource,
        postLogoutSuccessSource,
      },
      userinfo: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
    },
    // The portal's client gets a refresh token with every sign-in (no offline_access needed).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (ctx, sub) => {
      const user = currentUsers().get(sub);
      if (!user) return undefined;
      return {
        accountId: user.username,
        async claims() {
          return {
            sub: user.username,
            name: user.name,
            preferred_username: user.username,
            email: user.email,
            email_verified: true,
            groups: [...user.groups],
          };
        },
      };
    },
    interactions: {
      url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    renderError,
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
      RefreshToken: 24 * 60 * 60,
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => log(`server_error on ${ctx.path}: ${err.message}`));
  return provider;
}

async function logoutSource(ctx, form) {
  // Sign out of every client in the session and submit without asking; the
  // button is there for browsers without JavaScript.
  const withLogout = form.replace('</form>', '<input type="hidden" name="logout" value="yes"><button type="submit">Sign out</button></form>');
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.type = 'html';
  ctx.body = page('Signing out', `<h1>Signing out of the Event Bus</h1>
<p>You are being signed out. If nothing happens, press the button.</p>
${withLogout}
<script>${LOGOUT_SCRIPT}</script>`);
}

async function postLogoutSuccessSource(ctx) {
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.type = 'html';
  ctx.body = messagePage('Signed out', 'You are signed out', '<p>You have been signed out of the Event Bus identity provider. You can close this window.</p>');
}

async function renderError(ctx, out, error) {
  // `out` only carries error and error_description; never render the exception itself.
  if (error && (!error.expose || error.statusCode >= 500)) {
    log(`error page ${ctx.status}: ${error.name}: ${error.message}`);
  }
  securityHeaders((k, v) => ctx.set(k, v));
  ctx.type = 'html';
  ctx.body = errorBody(out.error, out.error_description);
}

function errorBody(code, description) {
  return messagePage('Error', 'Sign-in could not be completed', `<p>The identity provider could not process this request. Go back to the portal and start signing in again.</p>
<dl>
<dt>Error</dt><dd>${esc(code || 'server_error')}</dd>
${description ? `<dt>Description</dt><dd>${esc(description)}</dd>` : ''}
</dl>`);
}

// ---------------------------------------------------------------- interaction routes

const MAX_BODY = 16 * 1024;

function readForm(req) {
  return new Promise((resolve, reject) => {
    const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      reject(Object.assign(new Error('unsupported content type'), { status: 415 }));
      req.resume();
      return;
    }
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function send(res, status, html) {
  securityHeaders((k, v) => res.setHeader(k, v));
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

// Auto-grant everything requested: the portal is a first-party client.
async function grantFor(provider, details, accountId, missing = {}) {
  const { params } = details;
  let grant;
  if (details.grantId && details.session?.accountId === accountId) {
    grant = await provider.Grant.find(details.grantId);
  }
  if (!grant) grant = new provider.Grant({ accountId, clientId: params.client_id });

  const scope = missing.missingOIDCScope
    || String(params.scope || '').split(' ').filter((s) => SCOPES.includes(s));
  if (scope.length) grant.addOIDCScope(scope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function clientName(provider, clientId) {
  const client = await provider.Client.find(String(clientId || ''));
  return client?.clientName || clientId || 'the portal';
}

async function handleInteraction(provider, currentUsers, req, res, url) {
  const users = currentUsers();
  const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/.exec(url.pathname);
  if (!match) {
    send(res, 404, errorBody('not_found', 'There is no such page.'));
    return;
  }
  const [, uid, login] = match;

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, errorBody('invalid_request', 'This sign-in attempt has expired or was not started here. Go back to the portal and sign in again.'));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, errorBody('invalid_request', 'This sign-in attempt does not match the current one. Go back to the portal and sign in again.'));
    return;
  }
  const { prompt } = details;

  if (!login && req.method === 'GET') {
    if (prompt.name === 'login') {
      send(res, 200, loginPage({
        uid,
        clientName: await clientName(provider, details.params.client_id),
        username: typeof details.params.login_hint === 'string' ? details.params.login_hint : '',
      }));
      return;
    }
    if (prompt.name === 'consent') {
      const grantId = await grantFor(provider, details, details.session.accountId, prompt.details);
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    send(res, 400, errorBody('invalid_request', `Unsupported interaction prompt: ${prompt.name}`));
    return;
  }

  if (login && req.method === 'POST') {
    if (prompt.name !== 'login') {
      send(res, 400, errorBody('invalid_request', 'This sign-in step has already been completed.'));
      return;
    }
    const form = await readForm(req);
    const username = (form.get('username') || '').trim();
    const password = form.get('password') || '';
    const user = authenticate(users, username, password);
    if (!user) {
      // Log the username only when it is a known one: people do type passwords into it.
      log(users.has(username) ? `login failed for ${username} (wrong password)` : 'login failed (unknown username)');
      // 200 rather than 401: browsers log every 4xx page load as a console error,
      // which trips end-to-end tests that assert a clean console.
      send(res, 200, loginPage({
        uid,
        clientName: await clientName(provider, details.params.client_id),
        username,
        error: !username || !password
          ? 'Enter both your username and your password.'
          : 'Unknown username or wrong password.',
      }));
      return;
    }
    log(`login succeeded for ${user.username}`);
    const grantId = await grantFor(provider, details, user.username);
    await provider.interactionFinished(req, res, {
      login: { accountId: user.username, amr: ['pwd'] },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }

  res.setHeader('Allow', login ? 'POST' : 'GET');
  send(res, 405, errorBody('invalid_request', 'Method not allowed.'));
}

// ---------------------------------------------------------------- server

function main() {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const currentUsers = watchedUsers();
  // Built once the port (and so the issuer) is known.
  let provider;
  let providerCallback;

  const server = http.createServer((req, res) => {
    if (!provider) {
      send(res, 503, errorBody('temporarily_unavailable', 'The provider is starting.'));
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Path only: query strings can carry id_token_hint and other secrets.
      const p = (req.url || '').split('?')[0];
      log(`${req.method} ${p} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });

    let url;
    try {
      url = new URL(req.url || '/', 'http://idp.invalid');
    } catch {
      send(res, 400, errorBody('invalid_request', 'Malformed request URL.'));
      return;
    }

    if (url.pathname === '/interaction' || url.pathname.startsWith('/interaction/')) {
      handleInteraction(provider, currentUsers, req, res, url).catch((err) => {
        log(`interaction error: ${err.name}: ${err.message}`);
        if (!res.headersSent) {
          send(res, err.status || 500, errorBody('server_error', 'Something went wrong while signing in. Go back to the portal and try again.'));
        } else {
          res.destroy();
        }
      });
      return;
    }
    providerCallback(req, res);
  });

  server.keepAliveTimeout = 5000;
  server.on('error', (err) => {
    log(`server error: ${err.message}`);
    process.exit(1);
  });
  server.listen(PORT, HOST, () => {
    const { port } = server.address();
    const issuer = issuerFor(port);
    try {
      provider = buildProvider(currentUsers, issuer);
    } catch (err) {
      fail(err.message);
    }
    providerCallback = provider.callback();
    log(`listening on http://${HOST}:${port}, issuer ${issuer}`);
    log(`client ${CLIENT_ID}; redirect_uris ${REDIRECT_URIS.join(' ')}; post_logout_redirect_uris ${POST_LOGOUT_REDIRECT_URIS.join(' ')}`);
    log(`${currentUsers().size} demo users from ${USERS_FILE}; state in ${STATE_DIR}`);
  });

  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal} received, shutting down`);
    server.close(() => {
      log('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
    }, 2000).unref();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

try {
  main();
} catch (err) {
  fail(err.message);
}
