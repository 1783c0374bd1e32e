// The console's only way to Caisse: the documented JSON API on the same origin, with the signed-in
// member of staff's ID token as a Bearer token (what API Gateway's Cognito authorizer checks).
import { currentToken, signedOut } from './auth.js';

// The API's root: the console is served at <root>/console, its modules at <root>/console/assets/.
export const API_ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function send(method, path, body, accept = 'application/json') {
  const headers = { Authorization: `Bearer ${currentToken()}`, Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const answer = await fetch(`${API_ROOT}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (answer.status === 401) {
    signedOut();
    throw new ApiError(401, { message: 'signed out' });
  }
  if (!answer.ok) {
    let found = null;
    try { found = await answer.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(answer.status, found);
  }
  return answer;
}

export async function get(path) {
  return (await send('GET', path)).json();
}

export async function post(path, body = {}) {
  const answer = await send('POST', path, body);
  return answer.status === 204 ? null : answer.json();
}

export async function put(path, body) {
  return (await send('PUT', path, body)).json();
}

export async function patch(path, body) {
  return (await send('PATCH', path, body)).json();
}

export async function remove(path) {
  const answer = await send('DELETE', path);
  return answer.status === 204 ? null : answer.json();
}

// A file sent straight to S3 through the presigned PUT an upload route answered ({method, url,
// headers}). The browser sets Content-Length itself; the signed Content-Type must match exactly.
export async function putFile(upload, file) {
  const headers = Object.fromEntries(Object.entries(upload.headers || {}).filter(([name]) => name.toLowerCase() !== 'content-length'));
  const sent = await fetch(upload.url, { method: upload.method || 'PUT', headers, body: file });
  if (!sent.ok) throw new Error(`upload answered ${sent.status}`);
}

export async function download(path) {
  return (await send('GET', path, undefined, 'text/csv')).blob();
}
