// Dependency-free smoke test of a running dev IdP: authorization code + PKCE
// flow for a demo user, ID token claims, wrong password, missing PKCE,
// RP-initiated logout.
//
//   node dev/idp/smoke.mjs [username]        (default maria)
//
// Reads IDP_ISSUER / IDP_PORT, PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET,
// PORTAL_REDIRECT_URIS and PORTAL_POST_LOGOUT_REDIRECT_URIS like server.mjs
// and IDP_USERS_FILE for the expected claims. Exits non-zero on failure.
// Never prints passwords, codes or tokens.

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ISSUER = (process.env.IDP_ISSUER || `http://127.0.0.1:${process.env.IDP_PORT || 4000}`).replace(/\/+$/, '');
const CLIENT_ID = process.env.PORTAL_CLIENT_ID || 'event-bus-portal';
const CLIENT_SECRET = process.env.PORTAL_CLIENT_SECRET || 'event-bus-portal-dev-secret';
const REDIRECT_URI = (process.env.PORTAL_REDIRECT_URIS || 'http://127.0.0.1:3000/auth/callback').split(',')[0].trim();
const POST_LOGOUT = (process.env.PORTAL_POST_LOGOUT_REDIRECT_URIS || 'http://127.0.0.1:3000/').split(',')[0].trim();
const usersRaw = JSON.parse(fs.readFileSync(process.env.IDP_USERS_FILE || path.join(HERE, 'users.json'), 'utf8'));
const users = Array.isArray(usersRaw) ? usersRaw : usersRaw.users;
const user = users.find((u) => u.username === (process.argv[2] || 'maria'));
assert(user, `no such demo user: ${process.argv[2]}`);

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const form = (obj) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(obj),
});

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}

// Minimal browser: cookie jar + manual redirects that stop at the portal.
function browser() {
  const jar = new Map();
  async function request(url, opts = {}) {
    const res = await fetch(url, {
      redirect: 'manual',
      ...opts,
      headers: { ...(opts.headers || {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || pair.slice(i + 1) === '') jar.delete(pair.slice(0, i));
      else jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  }
  async function follow(url, opts) {
    let res = await request(url, opts);
    let current = url;
    for (let hops = 0; [302, 303].includes(res.status); hops += 1) {
      assert(hops < 10, 'too many redirects');
      const next = new URL(res.headers.get('location'), current).href;
      if (!next.startsWith(ISSUER)) return { res, url: next };
      current = next;
      res = await request(next);
    }
    return { res, url: current };
  }
  return { request, follow, jar };
}

function authUrl({ pkce = true } = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const state = b64url(crypto.randomBytes(12));
  const nonce = b64url(crypto.randomBytes(12));
  const url = new URL(`${ISSUER}/auth`);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email groups',
    state,
    nonce,
    ...(pkce ? { code_challenge: crypto.hash('sha256', verifier, 'base64url'), code_challenge_method: 'S256' } : {}),
  });
  return { url: url.href, verifier, state, nonce };
}

async function toLoginPage(b, url) {
  const { res, url: at } = await b.follow(url);
  assert.equal(res.status, 200, `login page status ${res.status}`);
  const html = await res.text();
  assert.match(html, /<html lang="en">/);
  assert.match(html, /<h1>Sign in to the Event Bus<\/h1>/);
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  assert(action, 'login form not found');
  return { html, action: new URL(action, at).href };
}

const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
let idToken;

await check('discovery document', () => {
  assert.equal(discovery.issuer, ISSUER);
  assert.deepEqual(discovery.response_types_supported, ['code']);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert(discovery.scopes_supported.includes('groups'));
  assert(discovery.end_session_endpoint);
});

await check('wrong password shows an error and does not echo it', async () => {
  const b = browser();
  const { action } = await toLoginPage(b, authUrl().url);
  const wrong = `not-${user.password}-${crypto.randomUUID()}`;
  const res = await b.request(action, form({ username: user.username, password: wrong }));
  const html = await res.text();
  assert.match(html, /role="alert">Unknown username or wrong password\.</);
  assert(!html.includes(wrong), 'password echoed');
});

await check('authorization request without PKCE is refused', async () => {
  const res = await fetch(authUrl({ pkce: false }).url, { redirect: 'manual' });
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.searchParams.get('error'), 'invalid_request');
  assert.match(loc.searchParams.get('error_description'), /PKCE/);
});

const b = browser();
await check(`code flow with PKCE for ${user.username}; ID token claims`, async () => {
  const a = authUrl();
  const { action } = await toLoginPage(b, a.url);
  const { url: cb } = await b.follow(action, form({ username: user.username, password: user.password }));
  const params = new URL(cb).searchParams;
  assert(cb.startsWith(REDIRECT_URI), 'did not land on the redirect_uri');
  assert.equal(params.get('state'), a.state);
  assert(params.get('code'), 'no code');

  const res = await fetch(`${ISSUER}/token`, {
    ...form({ grant_type: 'authorization_code', code: params.get('code'), redirect_uri: REDIRECT_URI, code_verifier: a.verifier }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`,
    },
  });
  const tokens = await res.json();
  assert.equal(res.status, 200, `token endpoint: ${tokens.error}`);
  assert(!('refresh_token' in tokens), 'unexpected refresh token');
  idToken = tokens.id_token;

  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  assert.equal(header.alg, 'RS256');
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert(jwk, 'kid not in JWKS');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  assert(crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')), 'bad signature');
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.aud, CLIENT_ID);
  assert.equal(claims.sub, user.username);
  assert.equal(claims.name, user.name);
  assert.equal(claims.email, user.email);
  assert.deepEqual(claims.groups, user.groups);
  assert.equal(claims.nonce, a.nonce);
  console.log(`     id_token claims: ${JSON.stringify({ sub: claims.sub, name: claims.name, email: claims.email, groups: claims.groups, nonce: claims.nonce === a.nonce ? '(matches)' : claims.nonce })}`);
});

await check('RP-initiated logout returns to the portal', async () => {
  assert(idToken, 'needs the ID token from the previous check');
  const url = new URL(discovery.end_session_endpoint);
  url.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: 'smoke' });
  const res = await b.request(url.href);
  const html = await res.text();
  assert.match(html, /<script>/, 'no auto-submit script');
  const f = /<form id="op\.logoutForm" method="post" action="([^"]+)">(.*?)<\/form>/s.exec(html);
  assert(f, 'logout form not found');
  const fields = Object.fromEntries([...f[2].matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const { url: back } = await b.follow(new URL(f[1], ISSUER).href, form(fields));
  assert.equal(back, `${POST_LOGOUT}?state=smoke`);
  await toLoginPage(b, authUrl().url); // signed out: the login form is shown again
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
