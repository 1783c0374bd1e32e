// Small pieces every console view is built from: tables that turn into cards on a phone, forms
// that show their own errors, status badges, and money typed by staff read without floats.
import { el } from './shared/dom.js';
import { hasWords, language, money, statusName, t } from './shared/i18n.js';
import { ApiError } from './api.js';

export function errorText(error) {
  if (error instanceof ApiError) {
    const refused = refusalText(error.body);
    if (refused) return refused;
    if (error.status === 403) return t('console.forbidden', { message: error.message });
    return t('console.error', { message: error.message });
  }
  if (error instanceof TypeError) return t('console.offline');
  return t('console.error', { message: error.message || String(error) });
}

// The API says why in English, and by a code (caisse.errors): in the console's language where
// it has words for the code, with the amounts, statuses and orders the answer carries; null when
// it has none (the API's own message is shown then).
function refusalText(body) {
  let key = `api.${body.error}`;
  if (body.error === 'refund_too_large' && body.per_refund) key = 'api.refund_too_large_per_payment';
  if (body.error === 'illegal_transition' && !(body.current && body.requested)) return null;
  if (!hasWords(key)) return null;
  return t(key, {
    refundable: money(body.refundable),
    per_refund: money(body.per_refund),
    maximum: money(body.maximum),
    current: body.current && statusName(body.current),
    requested: body.requested && statusName(body.requested),
    orders: (body.orders || []).map((order) => order.order_number).join(', '),
  });
}

export function notice(text, kind = 'info') {
  return el('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

// What the last action wants said on the page it led to (`context.flash`), said once.
export function flashNotice(context) {
  const flash = context.flash;
  context.flash = null;
  return flash ? notice(flash, 'ok') : null;
}

export function heading(text, level = 2) {
  return el(`h${level}`, {}, text);
}

export function section(title, ...children) {
  return el('section', { class: 'panel' }, heading(title), ...children);
}

export function badge(status, kind = 'status') {
  const text = kind === 'status' ? statusName(status) : t(`money.${status}`);
  return el('span', { class: `badge ${kind}-${status}` }, text);
}

// A table on a desk, a list of cards on a phone: each cell carries its column's name.
export function table(columns, rows, { caption } = {}) {
  if (!rows.length) return notice(t('console.none'));
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { class: 'data' },
      caption ? el('caption', { class: 'visually-hidden' }, caption) : null,
      el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c.label)))),
      el('tbody', {}, rows.map((row) => el('tr', {}, columns.map((c) => el('td', { 'data-label': c.label }, c.cell(row)))))),
    ),
  );
}

let fieldCount = 0;

export function field(label, control, help) {
  fieldCount += 1;
  const id = control.id || `field-${fieldCount}`;
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return el('div', { class: 'field' }, el('label', { for: id }, label), control, help ? el('small', { id: helpId }, help) : null);
}

// A yes-or-no choice, its words beside the box.
export function checkbox(name, label, checked) {
  return el('label', { class: 'check' }, el('input', { type: 'checkbox', name, checked: checked ? 'checked' : null }), ' ', label);
}

export function select(name, options, chosen) {
  return el(
    'select',
    { name },
    options.map(([value, label]) => el('option', { value, selected: value === chosen ? 'selected' : null }, label)),
  );
}

// A form that runs `act(form)` when sent, shows what went wrong inside itself, and calls `done`
// with the answer. While it runs, its buttons are disabled (no double refunds from a double click).
export function actionForm(attributes, children, act, done) {
  const result = el('div', { class: 'form-result', 'aria-live': 'polite' });
  const form = el('form', { ...attributes, novalidate: true }, ...children, result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    result.replaceChildren();
    try {
      const answer = await act(form, event.submitter);
      if (answer === false) return;
      result.replaceChildren(notice(t('console.saved'), 'ok'));
      if (done) await done(answer);
    } catch (error) {
      result.replaceChildren(notice(errorText(error), 'error'));
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

function digits(currency) {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
}

// "12.50" or "12,50" in EUR → 1250; "5000" in XAF → 5000. Null when it is not an amount.
export function minorUnits(text, currency) {
  const places = digits(currency);
  const cleaned = String(text).trim().replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  const pattern = places ? new RegExp(`^\\d+(\\.\\d{1,${places}})?$`) : /^\d+$/;
  if (!pattern.test(cleaned)) return null;
  const [whole, fraction = ''] = cleaned.split('.');
  return Number(whole) * 10 ** places + Number(fraction.padEnd(places, '0') || 0);
}

// 1250 EUR → "12.50" (or "12,50" in French): what goes back in an amount field.
export function majorUnits(amount, currency) {
  const places = digits(currency);
  const text = String(amount).padStart(places + 1, '0');
  const major = places ? `${text.slice(0, -places)}.${text.slice(-places)}` : text;
  return language() === 'fr' ? major.replace('.', ',') : major;
}

// Who did something, as the API records staff ("staff:<id>"): "you" when it was the one signed in;
// "the customer" for the order's own customer (their tickets for a changed event given back).
export function actorName(actor, staff) {
  if (actor === 'customer') return t('console.customer');
  return staff && actor === `staff:${staff.subject}` ? t('console.you') : actor;
}

// A booking's balance after the job: "A$150.00 · paid" (or due); empty before it is charged.
export function balanceText(balance) {
  if (!balance || !balance.amount) return '';
  return `${money(balance.amount)} · ${t(balance.status === 'paid' ? 'order.balance_paid' : 'order.balance_due')}`;
}

export function loading() {
  return el('p', { class: 'muted', role: 'status' }, t('console.loading'));
}

// The calendar day (YYYY-MM-DD) an instant falls on in the shop's time zone.
export function shopDay(instant, zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));
}

// Today as the shop's calendar says it (YYYY-MM-DD), wherever the member of staff is.
export function shopToday(zone) {
  return shopDay(new Date(), zone);
}

// How far the zone's clocks are ahead of UTC at an instant (milliseconds).
function zoneOffset(instant, zone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(instant)).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - instant;
}

// The last second of a calendar day (YYYY-MM-DD) on the shop's clocks, as an ISO instant: what
// "until 31 December" means to the shop, whatever zone the member of staff is in.
export function shopEndOfDay(isoDay, zone) {
  const [y, m, d] = isoDay.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, 23, 59, 59);
  const first = wall - zoneOffset(wall, zone);
  return new Date(wall - zoneOffset(first, zone)).toISOString();
}

// A calendar day (YYYY-MM-DD) moved by whole days, with no time zone to shift it.
export function shiftDay(isoDay, days) {
  const [y, m, d] = isoDay.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
