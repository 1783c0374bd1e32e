// The door (#/check-in): scan a ticket's QR with the phone's camera where the browser has
// BarcodeDetector, or type the code printed under it. Each code goes to
// POST /admin/tickets/{code}/check-in, which admits once and says why it refuses; this view only
// shows the answer, big enough to read at arm's length. The attendee list of each event is one
// click away for when the network goes down.
import { el } from './shared/dom.js';
import { dateTime, t, timeOfDay } from './shared/i18n.js';
import * as api from './api.js';
import { errorText, field, notice, section } from './ui.js';

const SCAN_EVERY_MS = 250;
const SAME_CODE_PAUSE_MS = 3000; // a QR held in front of the camera is checked once, not 12 times a second

let verdict = null; // the last answer, kept while staff move between sections
let scanning = null; // { stream, video, timer }
let lastScan = { code: null, at: 0 };
let shown = null; // the view's own box while it is on screen

// A QR holds "CT1.<payload>.<signature>" (the payload is base64url JSON whose "c" is the code);
// anything else read or typed is taken as the code itself.
export function codeFrom(text) {
  const parts = String(text).trim().split('.');
  if (parts.length === 3 && parts[0] === 'CT1') {
    try {
      return JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))).c;
    } catch {
      return String(text).trim();
    }
  }
  return String(text).trim();
}

async function checkIn(typed) {
  const code = codeFrom(typed).replace(/[\s-]/g, '').toUpperCase();
  if (!code) return;
  try {
    const answer = await api.post(`/admin/tickets/${encodeURIComponent(code)}/check-in`);
    verdict = { ok: true, ticket: answer.ticket };
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) return stopScan(); // the console asks to sign in again
    verdict = error instanceof api.ApiError
      ? { ok: false, message: refusal(error), ticket: error.body.ticket }
      : { ok: false, message: `${errorText(error)} ${t('checkin.offline')}` };
  }
  draw();
}

// Why the door refuses a ticket, in the console's language (the API says it in English): from
// the refusal's code and the ticket it returns. A ticket is only ever voided by a refund, whose
// reason the record keeps as "refunded (<reason>)".
function refusal(error) {
  const ticket = error.body.ticket || {};
  switch (error.body.error) {
    case 'already_checked_in':
      return t('checkin.used', {
        time: timeOfDay(ticket.checked_in_at, ticket.event && ticket.event.timezone),
        by: ticket.checked_in_by || '?',
      });
    case 'ticket_voided': {
      if (!ticket.voided_at) return t('checkin.giving_back');
      const reason = /^refunded \((.*)\)$/s.exec(ticket.void_reason || '');
      return reason ? t('checkin.refunded_for', { reason: reason[1] }) : t('checkin.refunded');
    }
    case 'unknown_ticket':
      return t('checkin.unknown');
    case 'other_merchant':
      return t('checkin.other_shop');
    default:
      return error.message;
  }
}

function draw() {
  if (!shown) return;
  shown.replaceChildren(...[checkForm(), verdict ? verdictCard() : null].filter(Boolean));
  const input = shown.querySelector('input[name="code"]');
  if (input && !scanning) input.focus();
}

function checkForm() {
  const camera = 'BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  const input = el('input', { name: 'code', type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false' });
  const form = el('form', { class: 'door-code' },
    field(t('checkin.code'), input),
    el('button', { type: 'submit', class: 'primary' }, t('checkin.check')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value;
    input.value = '';
    checkIn(value);
  });
  return el('div', { class: 'panel door' },
    form,
    camera
      ? el('p', {}, el('button', { type: 'button', onclick: scanning ? stopScan : startScan }, t(scanning ? 'checkin.stop_scan' : 'checkin.scan')))
      : el('p', { class: 'muted' }, t('checkin.no_camera')),
    scanning ? scanning.video : null);
}

function verdictCard() {
  const ticket = verdict.ticket;
  return el('section', { class: `verdict verdict-${verdict.ok ? 'admitted' : 'refused'}`, role: 'status', 'aria-live': 'assertive' },
    el('h2', {}, t(verdict.ok ? 'checkin.admitted' : 'checkin.refused')),
    verdict.message ? el('p', {}, verdict.message) : null,
    ticket ? el('p', { class: 'code' }, ticket.code) : null,
    ticket ? el('p', {}, t('checkin.ticket', { product: ticket.product, n: ticket.number, count: ticket.count, holder: ticket.holder })) : null,
    ticket && ticket.event ? el('p', { class: 'muted' }, ticket.event.name, ' · ', dateTime(ticket.event.start, ticket.event.timezone)) : null,
    ticket ? el('p', { class: 'muted' }, t('checkin.order', { number: ticket.order_number })) : null);
}

async function startScan() {
  try {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    const video = el('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': t('checkin.camera') });
    video.srcObject = stream;
    scanning = { stream, video, timer: null };
    draw();
    await video.play().catch(() => {});
    scanning.timer = setInterval(() => scanOnce(detector, video), SCAN_EVERY_MS);
  } catch (error) {
    stopScan();
    verdict = { ok: false, message: t('checkin.camera_failed', { message: error.message || String(error) }) };
    draw();
  }
}

async function scanOnce(detector, video) {
  if (!shown || !shown.isConnected) return stopScan(); // staff left the view: the camera goes off
  const found = await detector.detect(video).catch(() => []);
  if (!found.length || !scanning) return;
  const code = codeFrom(found[0].rawValue);
  const now = Date.now();
  if (code === lastScan.code && now - lastScan.at < SAME_CODE_PAUSE_MS) return;
  lastScan = { code, at: now };
  checkIn(code);
}

function stopScan() {
  if (scanning) {
    clearInterval(scanning.timer);
    scanning.stream.getTracks().forEach((track) => track.stop());
  }
  scanning = null;
  draw();
}

// The events the shown shops sell tickets for (the public catalog names them), each with its list.
async function attendeeLists(context) {
  const catalog = await fetch(`${api.API_ROOT}/catalog`, { headers: { Accept: 'application/json' } }).then((r) => r.json());
  const events = new Map();
  for (const product of catalog.products) {
    if (!product.event || (context.merchant && product.merchant !== context.merchant)) continue;
    events.set(`${product.merchant}/${product.event.id}`, { merchant: product.merchant, ...product.event });
  }
  if (!events.size) return null;
  const result = el('div', { 'aria-live': 'polite' });
  const download = async (event) => {
    result.replaceChildren();
    try {
      const blob = await api.download(`/admin/events/${encodeURIComponent(event.id)}/attendees${api.query({ merchant: event.merchant })}`);
      const link = el('a', { href: URL.createObjectURL(blob), download: `attendees-${event.id}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      result.replaceChildren(notice(errorText(error), 'error'));
    }
  };
  return section(t('checkin.lists'),
    el('p', { class: 'muted' }, t('checkin.lists_help')),
    el('ul', { class: 'plain' }, [...events.values()].map((event) => el('li', {},
      el('button', { type: 'button', onclick: () => download(event) }, t('checkin.download', { event: event.name })),
      ' ',
      el('span', { class: 'muted' }, dateTime(event.start, event.timezone), context.merchant ? '' : ` · ${context.merchantName(event.merchant)}`)))),
    result);
}

export async function checkinView(context) {
  if (scanning) stopScan(); // drawn again (another language): the camera restarts on request
  shown = el('div', {});
  const lists = await attendeeLists(context).catch(() => null); // the door works without them
  draw();
  return [
    el('h1', {}, t('checkin.title')),
    el('p', { class: 'muted' }, t('checkin.help')),
    shown,
    lists,
  ];
}
