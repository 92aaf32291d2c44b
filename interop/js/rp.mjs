// A strict OpenID Connect relying party built on panva's oauth4webapi,
// run by internal/web's interop test against a live idgate server. It signs
// in through the hosted login form (plain HTTP, no browser), then does
// discovery, code + PKCE, ID token validation, userinfo, refresh,
// introspection and revocation, failing loudly on any deviation from the
// specifications. It prints one JSON summary line.
import * as oauth from 'oauth4webapi'

const env = (k) => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} is required`)
  return v
}
const issuer = new URL(env('ISSUER'))
const client = { client_id: env('CLIENT_ID'), [oauth.allowInsecureRequests]: true }
const clientAuth = oauth.ClientSecretBasic(env('CLIENT_SECRET'))
const redirectUri = env('REDIRECT_URI')
const opts = { [oauth.allowInsecureRequests]: true }

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts))

const codeVerifier = oauth.generateRandomCodeVerifier()
const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier)
const state = oauth.generateRandomState()
const nonce = oauth.generateRandomNonce()
const authURL = new URL(as.authorization_endpoint)
for (const [k, v] of Object.entries({
  client_id: client.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'openid email profile',
  code_challenge: codeChallenge, code_challenge_method: 'S256', state, nonce,
})) authURL.searchParams.set(k, v)

// Sign in through the hosted login form, as a browser without JavaScript.
let res = await fetch(authURL, { redirect: 'manual' })
if (res.status !== 302) throw new Error(`authorize: status ${res.status}`)
const loginURL = new URL(res.headers.get('location'), authURL)
res = await fetch(loginURL)
const html = await res.text()
const form = new URLSearchParams()
for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
  form.set(m[1], m[2].replaceAll('&amp;', '&').replaceAll('&#43;', '+').replaceAll('&#34;', '"').replaceAll('&#39;', "'"))
}
form.set('email', env('EMAIL'))
form.set('password', env('PASSWORD'))
const action = new URL((html.match(/<form method="post" action="([^"]+)"/) || [])[1] || loginURL.pathname, loginURL)
res = await fetch(action, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
if (res.status !== 303 && res.status !== 302) throw new Error(`login: status ${res.status}: ${(await res.text()).slice(0, 300)}`)
const callback = new URL(res.headers.get('location'))

// Authorization response (state, iss per RFC 9207), code exchange, ID token.
const params = oauth.validateAuthResponse(as, client, callback, state)
res = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, codeVerifier, opts)
const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: nonce, requireIdToken: true })
const claims = oauth.getValidatedIdTokenClaims(tokens)

res = await oauth.userInfoRequest(as, client, tokens.access_token, opts)
const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub, res)

res = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, opts)
const refreshed = await oauth.processRefreshTokenResponse(as, client, res)
const refreshedClaims = oauth.getValidatedIdTokenClaims(refreshed)

res = await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, opts)
const before = await oauth.processIntrospectionResponse(as, client, res)

res = await oauth.revocationRequest(as, client, clientAuth, tokens.refresh_token, opts)
await oauth.processRevocationResponse(res)

res = await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, opts)
const after = await oauth.processIntrospectionResponse(as, client, res)

res = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, opts)
let refreshAfterRevoke = 'accepted'
try {
  await oauth.processRefreshTokenResponse(as, client, res)
} catch (e) {
  refreshAfterRevoke = e.error || e.code || String(e)
}

console.log(JSON.stringify({
  sub: claims.sub, email: userinfo.email, nonce: claims.nonce, sidMatches: claims.sid === refreshedClaims.sid,
  activeBefore: before.active, activeAfter: after.active, refreshAfterRevoke, iss: callback.searchParams.get('iss'),
}))
