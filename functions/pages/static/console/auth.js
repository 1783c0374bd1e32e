// Who is signed in. Deployed, staff sign in on Cognito's hosted pages with the authorization code
// flow and PKCE (RFC 7636): the browser keeps a one-time verifier, sends its SHA-256, and trades
// the code back for tokens with the verifier, so no client secret lives in the page. Locally there
// is no Cognito: staff paste the token `make admin-token` prints. Either way the page keeps the ID
// token for this tab only (sessionStorage) and the API checks it on every call.

const TOKEN = 'caisse-console-token';
const PKCE = 'caisse-console-pkce';
let onSignedOut = () => {};

export function currentToken() {
  return sessionStorage.getItem(TOKEN);
}

// The token's claims, as far as the page needs them (the API verifies; the page only shows).
export function claims(token = currentToken()) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const text = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function staff() {
  const found = claims();
  if (!found || !found.sub || (found.exp && found.exp * 1000 < Date.now())) return null;
  const groups = [].concat(found['cognito:groups'] || []);
  return {
    subject: found.sub,
    email: found.email || found['cognito:username'] || found.sub,
    merchant: found['custom:merchant_id'] || null,
    platform: groups.includes('platform-admin'),
  };
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function signedOut() {
  sessionStorage.removeItem(TOKEN);
  onSignedOut();
}

export function useToken(token) {
  const trimmed = token.trim();
  if (!claims(trimmed)) return false;
  sessionStorage.setItem(TOKEN, trimmed);
  if (!staff()) {
    sessionStorage.removeItem(TOKEN);
    return false;
  }
  return true;
}

function base64Url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function startCognito(config) {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(48)));
  const state = base64Url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const url = new URL(config.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: 'openid email profile',
    code_challenge_method: 'S256',
    code_challenge: challenge,
    state,
  }).toString();
  location.assign(url.toString());
}

// Back from Cognito with ?code=...&state=...: trade the code for tokens, then drop it from the address.
export async function finishCognito(config) {
  const parameters = new URLSearchParams(location.search);
  const code = parameters.get('code');
  if (!code) return false;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || '{}');
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, '', location.pathname);
  if (!saved.verifier || saved.state !== parameters.get('state')) throw new Error('state mismatch');
  const answer = await fetch(config.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.clientId,
      code,
      redirect_uri: config.redirectUri,
      code_verifier: saved.verifier,
    }).toString(),
  });
  if (!answer.ok) throw new Error(`token endpoint answered ${answer.status}`);
  const tokens = await answer.json();
  if (!useToken(tokens.id_token || '')) throw new Error('no staff ID token');
  return true;
}

export function signOut(config) {
  sessionStorage.removeItem(TOKEN);
  if (config.signIn === 'cognito') {
    const url = new URL(config.logoutUrl);
    url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: config.redirectUri }).toString();
    location.assign(url.toString());
  } else {
    onSignedOut();
  }
}
