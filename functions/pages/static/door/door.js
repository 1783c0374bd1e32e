// The door's check-in page (staff console): scan a ticket's QR with the phone's camera where the
// browser has BarcodeDetector, or type the code printed under it. Each code goes to
// POST /admin/tickets/{code}/check-in, which admits once and says why it refuses; this page only
// shows the answer, big enough to read at arm's length. The staff token stays in this tab.
import { el, languageSwitch } from './shared/dom.js';
import { LANGUAGES, dateTime, rememberLanguage, setLanguage, startingLanguage, t } from './shared/i18n.js';

const SCAN_EVERY_MS = 250;
const SAME_CODE_PAUSE_MS = 3000; // a QR held in front of the camera is checked once, not 12 times a second

const app = document.getElementById('app');
const path = location.pathname;
const apiBase = path.slice(0, path.lastIndexOf('/console/')); // '' locally, '/<stage>' behind API Gateway
let token = sessionStorage.getItem('staff-token');
let verdict = null;
let scanning = null; // { stream, timer }
let lastScan = { code: null, at: 0 };

// A QR holds "CT1.<payload>.<signature>" (the payload is base64url JSON whose "c" is the code);
// anything else read or typed is taken as the code itself.
export function codeFrom(text) {
  const parts = String(text).trim().split('.');
  if (parts.length === 3 && parts[0] === 'CT1') {
    try {
      const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
      return JSON.parse(json).c;
    } catch {
      return text.trim();
    }
  }
  return String(text).trim();
}

async function checkIn(typed) {
  const code = codeFrom(typed).replace(/[\s-]/g, '').toUpperCase();
  if (!code) return;
  let answer;
  try {
    answer = await fetch(`${apiBase}/admin/tickets/${encodeURIComponent(code)}/check-in`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    verdict = { ok: false, message: t('door.offline') };
    return render();
  }
  if (answer.status === 401) {
    sessionStorage.removeItem('staff-token');
    token = null;
    verdict = { ok: false, message: t('door.signed_out') };
    return render();
  }
  const body = await answer.json().catch(() => ({}));
  verdict = answer.ok
    ? { ok: true, ticket: body.ticket }
    : { ok: false, message: body.message || answer.statusText, ticket: body.ticket };
  render();
}

function render() {
  app.replaceChildren(
    languageSwitch(LANGUAGES, document.documentElement.lang, t('language'), (chosen) => {
      rememberLanguage(chosen);
      setLanguage(chosen);
      render();
    }),
    el('h1', {}, t('door.title')),
    token ? checkForm() : signIn(),
    verdict ? verdictCard() : null,
  );
  app.setAttribute('aria-busy', 'false');
  document.title = t('door.title');
  const input = document.getElementById(token ? 'code' : 'token');
  if (input && !scanning) input.focus();
}

function signIn() {
  return el('form', { class: 'card', onsubmit: (event) => {
    event.preventDefault();
    const value = document.getElementById('token').value.trim();
    if (!value) return;
    token = value;
    sessionStorage.setItem('staff-token', value);
    verdict = null;
    render();
  } },
  el('div', {},
    el('label', { for: 'token' }, t('door.sign_in')),
    el('input', { id: 'token', type: 'password', autocomplete: 'off', 'aria-describedby': 'token-help' }),
    el('p', { id: 'token-help', class: 'muted small' }, t('door.sign_in_help'))),
  el('button', { type: 'submit' }, t('door.use_token')));
}

function checkForm() {
  const camera = 'BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  return el('section', { class: 'card' },
    el('form', { onsubmit: (event) => {
      event.preventDefault();
      const input = document.getElementById('code');
      const value = input.value;
      input.value = '';
      checkIn(value);
    } },
    el('div', {},
      el('label', { for: 'code' }, t('door.code')),
      el('input', { id: 'code', type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', inputmode: 'text' })),
    el('button', { type: 'submit' }, t('door.check'))),
    camera
      ? el('p', {}, el('button', { type: 'button', class: 'secondary', onclick: scanning ? stopScan : startScan }, t(scanning ? 'door.stop_scan' : 'door.scan')))
      : el('p', { class: 'muted small' }, t('door.no_camera')),
    scanning ? scanning.video : null);
}

function verdictCard() {
  const ticket = verdict.ticket;
  return el('section', { class: `verdict verdict-${verdict.ok ? 'admitted' : 'refused'}`, role: 'status', 'aria-live': 'assertive' },
    el('h2', {}, t(verdict.ok ? 'door.admitted' : 'door.refused')),
    verdict.message ? el('p', {}, verdict.message) : null,
    ticket ? el('p', { class: 'code' }, ticket.code) : null,
    ticket ? el('p', {}, t('door.ticket', { product: ticket.product, n: ticket.number, count: ticket.count, holder: ticket.holder })) : null,
    ticket && ticket.event ? el('p', { class: 'muted' }, ticket.event.name, ' · ', dateTime(ticket.event.start, ticket.event.timezone)) : null,
    ticket ? el('p', { class: 'muted small' }, t('door.order', { number: ticket.order_number })) : null);
}

async function startScan() {
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  const video = el('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': t('door.scan') });
  video.srcObject = stream;
  scanning = { stream, video, timer: null };
  render();
  await video.play().catch(() => {});
  scanning.timer = setInterval(async () => {
    if (!scanning) return;
    const found = await detector.detect(video).catch(() => []);
    if (!found.length) return;
    const code = codeFrom(found[0].rawValue);
    const now = Date.now();
    if (code === lastScan.code && now - lastScan.at < SAME_CODE_PAUSE_MS) return;
    lastScan = { code, at: now };
    checkIn(code);
  }, SCAN_EVERY_MS);
}

function stopScan() {
  if (scanning) {
    clearInterval(scanning.timer);
    scanning.stream.getTracks().forEach((track) => track.stop());
  }
  scanning = null;
  render();
}

setLanguage(startingLanguage(null));
render();
