// Orders: the list with its filters, search, paging and CSV export; one order with everything
// staff need (items, money, payments, refunds, history, notes) and only the actions it allows.
import { el } from './shared/dom.js';
import { dateTime, language, money, statusName, t } from './shared/i18n.js';
import * as api from './api.js';
import { eventTimes } from './catalog.js';
import {
  actionForm, actorName, badge, balanceText, field, flashNotice, majorUnits, minorUnits, notice, section, select, table,
} from './ui.js';

const FILTERS = ['q', 'status', 'money_state', 'provider', 'created_from', 'created_to'];
const BASE_STATUSES = ['pending_payment', 'payment_failed', 'needs_review', 'paid', 'expired', 'cancelled'];
const MONEY_STATES = ['unpaid', 'paid', 'partially_refunded', 'refunded', 'disputed', 'charged_back'];
const PROVIDERS = ['stripe', 'paypal', 'campay', 'paydunya'];
const RESENDABLE = ['order_confirmed', 'stage_changed', 'delivery', 'refund_processed', 'payment_failed', 'balance_due'];

function moneyName(state) {
  const key = `money.${state}`;
  const text = t(key);
  return text === key ? state : text;
}

function statusOptions(context) {
  const stages = new Set();
  for (const [id, settings] of context.merchants) {
    if (!context.merchant || context.merchant === id) (settings.stages || []).forEach((s) => stages.add(s));
  }
  return [...BASE_STATUSES, ...[...stages].filter((s) => !BASE_STATUSES.includes(s))];
}

function filtersForm(context, parameters) {
  const value = (name) => parameters.get(name) || '';
  const any = ['', t('orders.any')];
  const form = el(
    'form',
    { class: 'filters', role: 'search' },
    field(t('orders.search'), el('input', { type: 'search', name: 'q', value: value('q'), autocomplete: 'off' }), t('orders.search_help')),
    field(t('orders.status'), select('status', [any, ...statusOptions(context).map((s) => [s, statusName(s)])], value('status'))),
    field(t('orders.money'), select('money_state', [any, ...MONEY_STATES.map((s) => [s, moneyName(s)])], value('money_state'))),
    field(t('orders.provider'), select('provider', [any, ...PROVIDERS.map((p) => [p, p])], value('provider'))),
    field(t('orders.from'), el('input', { type: 'date', name: 'created_from', value: value('created_from') })),
    field(t('orders.to'), el('input', { type: 'date', name: 'created_to', value: value('created_to') })),
    el('div', { class: 'buttons' },
      el('button', { type: 'submit', class: 'primary' }, t('orders.apply')),
      el('a', { class: 'button', href: '#/orders' }, t('orders.clear')),
      el('button', { type: 'button', onclick: () => exportCsv(context, parameters) }, t('orders.export'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of FILTERS) {
      const entry = form.elements[name].value.trim();
      if (entry) chosen.set(name, entry);
    }
    context.go(`#/orders${chosen.toString() ? `?${chosen}` : ''}`);
  });
  return form;
}

function listQuery(context, parameters, extra = {}) {
  const wanted = { merchant: context.merchant };
  for (const name of FILTERS) wanted[name] = parameters.get(name);
  return api.query({ ...wanted, ...extra });
}

async function exportCsv(context, parameters) {
  const blob = await api.download(`/admin/orders/export${listQuery(context, parameters)}`);
  const link = el('a', { href: URL.createObjectURL(blob), download: `orders-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
}

export async function ordersView(context, parameters) {
  const found = await api.get(`/admin/orders${listQuery(context, parameters, { cursor: parameters.get('cursor') })}`);
  const rows = found.orders;
  const columns = [
    { label: t('orders.number'), cell: (o) => el('a', { href: `#/orders/${encodeURIComponent(o.order_id)}` }, o.order_number) },
    { label: t('orders.created'), cell: (o) => dateTime(o.created_at, context.timezone(o.merchant)) },
    { label: t('orders.customer'), cell: (o) => el('span', {}, o.customer.name, el('br'), el('small', {}, o.customer.email)) },
    { label: t('orders.items'), cell: (o) => o.items },
    { label: t('orders.total'), cell: (o) => money(o.total) },
    { label: t('orders.status'), cell: (o) => badge(o.status) },
    { label: t('orders.money'), cell: (o) => badge(o.money_state, 'money') },
  ];
  if (!context.merchant) columns.splice(1, 0, { label: t('console.merchant'), cell: (o) => context.merchantName(o.merchant) });
  const paging = [];
  if (parameters.get('cursor')) {
    const first = new URLSearchParams(parameters);
    first.delete('cursor');
    paging.push(el('a', { class: 'button', href: `#/orders?${first}` }, t('console.first')));
  }
  if (found.next_cursor) {
    const next = new URLSearchParams(parameters);
    next.set('cursor', found.next_cursor);
    paging.push(el('a', { class: 'button', href: `#/orders?${next}`, rel: 'next' }, t('console.more')));
  }
  return [
    el('h1', {}, t('orders.title')),
    filtersForm(context, parameters),
    el('p', { class: 'muted', role: 'status' }, t('orders.count', { count: rows.length })),
    table(columns, rows, { caption: t('orders.title') }),
    el('div', { class: 'buttons paging' }, paging),
  ];
}

// ---- One order -------------------------------------------------------------------------------

function definition(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function actionName(action) {
  const key = `action.${action}`;
  return t(key) === key ? humanize(action) : t(key);
}

function humanize(name) {
  const words = String(name).replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// A brief's answers as the shop asked them, in the order asked: the question in the staff's
// language, a choice by its label. The order keeps the questions it was asked (older orders: the
// catalog's words for the same names).
function brief(order, context) {
  const asked = new Map((order.questions || []).map((question) => [question.name, question]));
  const names = [...asked.keys()].filter((name) => name in order.answers);
  for (const name of Object.keys(order.answers)) if (!asked.has(name)) names.push(name);
  return names.map((name) => answer(asked.get(name) || context.questions.get(name), name, order.answers[name]));
}

function answer(question, name, value) {
  const lang = language();
  if (!question) return [humanize(name), String(value)];
  const label = question.label?.[lang] || question.label?.en || humanize(name);
  const choices = question.choice_labels?.[lang] || question.choice_labels?.en || {};
  return [label, choices[value] || String(value)];
}

// What a version of the order did: its move of status; else the staff action (a balance charged, a
// note); else its move of money (a refund: "Partly refunded"); else its placing.
function entryTitle(entry) {
  if (entry.to && entry.to !== entry.from) return statusName(entry.to);
  if (entry.action === 'event_changed' && entry.changes?.after?.cancelled) return t('order.event_cancelled', { name: entry.changes.after.name });
  if (entry.action === 'event_changed' && entry.changes?.after) return t('order.event_changed', { name: entry.changes.after.name });
  if (entry.action) return actionName(entry.action);
  if (entry.money && entry.money.to !== entry.money.from) return moneyName(entry.money.to);
  if (entry.money && entry.money.amount < 0) return t('order.refund_failed_back');
  if (entry.money) return t('order.money_received');
  return entry.to ? statusName(entry.to) : t('order.placed');
}

// What an event's change carried to the order: each detail that moved, old → new, as the catalog
// shows events (the shop's local times), and that the holder is told; or, cancelled, why.
function eventChange(changes) {
  const before = changes.before || {};
  const after = changes.after || {};
  if (after.cancelled) {
    return el('div', { class: 'message' }, el('p', {}, after.cancelled), el('small', {}, t('order.event_cancelled_told')));
  }
  const when = (e) => (e.start && e.end ? eventTimes(e) : '—');
  const place = (e) => [e.venue, e.address].filter(Boolean).join(', ') || '—';
  const moved = [
    [t('catalog.event_name'), before.name || '—', after.name || '—'],
    [t('bookings.when'), when(before), when(after)],
    [t('catalog.venue'), place(before), place(after)],
  ].filter(([, was, now]) => was !== now);
  return el('div', { class: 'message' },
    el('ul', { class: 'plain' }, moved.map(([label, was, now]) => el('li', {}, t('order.event_detail', { what: label, was, now })))),
    el('small', {}, t('order.event_told')));
}

function timeline(order, zone, staff) {
  return el('ol', { class: 'timeline' }, order.history.map((entry) => el(
    'li',
    {},
    el('time', { datetime: entry.at }, dateTime(entry.at, zone)),
    ' ',
    el('strong', {}, entryTitle(entry)),
    entry.money && entry.money.amount !== undefined ? ` · ${money({ amount: entry.money.amount, currency: order.total.currency })}` : null,
    entry.by && entry.action !== 'event_changed' ? el('small', {}, ` ${t('order.by', { who: actorName(entry.by, staff) })}`) : null,
    entry.action === 'event_changed' && entry.changes ? eventChange(entry.changes) : null,
    entry.message ? el('p', { class: 'message' }, entry.message) : null,
    entry.note ? el('p', { class: 'note' }, entry.note) : null,
  )));
}

function moveForm(context, order) {
  if (!order.next_statuses || !order.next_statuses.length) return notice(t('order.no_moves'));
  return actionForm(
    { class: 'action', 'aria-label': t('order.move') },
    [
      field(t('order.move_to'), select('status', order.next_statuses.map((s) => [s, statusName(s)]), order.next_statuses[0])),
      field(t('order.customer_message'), el('textarea', { name: 'message', rows: '2', maxlength: '500' })),
      field(t('order.internal_note'), el('textarea', { name: 'note', rows: '2', maxlength: '2000' })),
      el('button', { type: 'submit', class: 'primary' }, t('order.move_button')),
    ],
    (form) => api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/status`, {
      status: form.elements.status.value,
      message: form.elements.message.value.trim() || null,
      note: form.elements.note.value.trim() || null,
    }),
    () => context.refresh(),
  );
}

function refundForm(context, order) {
  const terms = order.refund_terms;
  if (!terms) return null;
  const currency = order.total.currency;
  // Paid in two payments (a deposit and a balance), one refund goes back on one of them.
  const first = terms.per_refund && terms.per_refund.amount < terms.refundable.amount ? terms.per_refund : terms.refundable;
  const left = first.amount;
  const policy = terms.refundable.amount > 0
    ? t('order.refund_policy', { amount: money(terms.refundable), percent: `${terms.percent} %`, stage: statusName(terms.stage) })
    : t('order.refund_nothing');
  const amount = el('input', { name: 'amount', inputmode: 'decimal', autocomplete: 'off', value: left > 0 ? majorUnits(left, currency) : '' });
  // Always sendable: when the policy allows nothing, staff still see why from the API's answer.
  const button = el('button', { type: 'submit', class: 'danger' }, t('order.refund_button', { amount: money(first) }));
  const relabel = () => {
    const minor = minorUnits(amount.value, currency);
    button.textContent = t('order.refund_button', { amount: minor === null ? '…' : money({ amount: minor, currency }) });
  };
  amount.addEventListener('input', relabel);
  return actionForm(
    { class: 'action', 'aria-label': t('order.refund') },
    [
      el('p', { class: 'policy' }, policy),
      first !== terms.refundable ? el('p', {}, t('order.refund_per_payment', { amount: money(first) })) : null,
      field(t('order.refund_amount', { currency }), amount),
      field(t('order.refund_reason'), el('input', { name: 'reason', maxlength: '300', autocomplete: 'off' })),
      button,
    ],
    (form) => {
      const minor = minorUnits(amount.value, currency);
      if (minor === null || minor < 1) throw new Error(t('order.refund_bad_amount', { example: majorUnits(left || 1000, currency) }));
      // eslint-disable-next-line no-alert
      if (!window.confirm(t('order.refund_confirm', { amount: money({ amount: minor, currency }) }))) return false;
      return api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/refunds`, {
        amount: minor,
        reason: form.elements.reason.value.trim() || null,
      });
    },
    () => context.refresh(),
  );
}

// Tickets for an event that changed after they were bought: given back in full, whatever the
// policy (the holder paid for another night), named so the refund voids them at the door.
function changedEventRefund(context, order) {
  const offered = order.refund_terms && order.refund_terms.changed_event_tickets;
  if (!offered) return null;
  const count = offered.tickets.length;
  return actionForm(
    { class: 'action', 'aria-label': t('order.changed_event_refund') },
    [
      el('p', { class: 'policy' }, t('order.changed_event_terms', { count, amount: money(offered.amount) })),
      el('button', { type: 'submit', class: 'danger' }, t('order.changed_event_button', { count, amount: money(offered.amount) })),
    ],
    () => {
      // eslint-disable-next-line no-alert
      if (!window.confirm(t('order.refund_confirm', { amount: money(offered.amount) }))) return false;
      return api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/refunds`, {
        tickets: offered.tickets,
        reason: t('order.changed_event_reason'),
      });
    },
    () => context.refresh(),
  );
}

function payoutForm(context, order, refund) {
  const to = refund.payout || {};
  return actionForm(
    { class: 'action payout', 'aria-label': t('order.payout') },
    [
      el('p', {}, t('order.payout_to', {
        amount: money(refund.amount),
        name: order.customer.name,
        phone: to.to || order.customer.phone || order.customer.phone_ending || '',
        provider: order.provider,
      })),
      field(t('order.payout_reference'), el('input', { name: 'reference', maxlength: '120', autocomplete: 'off' })),
      el('button', { type: 'submit', class: 'primary' }, t('order.payout_button')),
    ],
    (form) => api.post(
      `/admin/orders/${encodeURIComponent(order.order_id)}/refunds/${encodeURIComponent(refund.refund_id)}/confirm`,
      { reference: form.elements.reference.value.trim() || null },
    ),
    () => context.refresh(),
  );
}

function deliverableForm(context, order) {
  const file = el('input', { type: 'file', name: 'file', required: true });
  const current = order.deliverable ? (order.deliverable.key || order.deliverable) : null;
  return actionForm(
    { class: 'action', 'aria-label': t('order.deliverable') },
    [
      current ? el('p', { class: 'muted' }, t('order.deliverable_current', { name: String(current).split('/').pop() })) : null,
      field(t('order.deliverable_file'), file),
      el('button', { type: 'submit' }, t('order.deliverable_button')),
    ],
    async (form) => {
      const chosen = file.files[0];
      if (!chosen) throw new Error(t('order.deliverable_file'));
      const offer = await api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/deliverable`, {
        filename: chosen.name,
        content_type: chosen.type || 'application/octet-stream',
        size: chosen.size,
      });
      form.querySelector('.form-result').replaceChildren(notice(t('order.deliverable_uploading', { name: chosen.name })));
      await api.putFile(offer.upload, chosen);
      context.flash = t('order.deliverable_done', { name: chosen.name });
      return offer;
    },
    () => context.refresh(),
  );
}

function resendForm(order) {
  return actionForm(
    { class: 'action', 'aria-label': t('order.resend') },
    [
      field(t('order.resend_kind'), select('kind', RESENDABLE.map((k) => [k, t(`kind.${k}`)]), 'order_confirmed')),
      el('button', { type: 'submit' }, t('order.resend_button')),
    ],
    (form) => api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/emails`, { kind: form.elements.kind.value }),
  );
}

function noteForm(context, order) {
  return actionForm(
    { class: 'action', 'aria-label': t('order.add_note') },
    [
      field(t('order.note'), el('textarea', { name: 'note', rows: '2', maxlength: '2000', required: true })),
      el('button', { type: 'submit' }, t('order.add_note')),
    ],
    (form) => api.post(`/admin/orders/${encodeURIComponent(order.order_id)}/notes`, { note: form.elements.note.value.trim() }),
    () => context.refresh(),
  );
}

export async function orderView(context, orderId) {
  const order = await api.get(`/admin/orders/${encodeURIComponent(orderId)}`);
  const zone = order.shop?.timezone || context.timezone(order.merchant);
  const customer = order.customer || {};
  const owed = (order.refunds || []).filter((r) => r.status === 'owed');
  document.title = `${order.order_number} · ${t('console.title')}`;
  return [
    el('p', {}, el('a', { href: '#/orders' }, `← ${t('order.back')}`)),
    el('h1', {}, order.order_number, ' ', badge(order.status), ' ', statusName(order.status) === moneyName(order.money_state) ? null : badge(order.money_state, 'money')),
    flashNotice(context),
    el('div', { class: 'columns' },
      section(t('order.customer'), definition([
        [t('orders.customer'), customer.name],
        [t('order.email'), customer.email],
        [t('order.phone'), customer.phone || customer.phone_ending],
        [t('order.language'), customer.locale],
        [t('orders.created'), dateTime(order.created_at, zone)],
        [t('order.provider'), order.provider],
      ])),
      section(t('order.amount'), definition([
        [t('order.total'), money(order.total)],
        [t('order.paid'), order.paid ? money(order.paid) : null],
        [t('bookings.balance'), balanceText(order.balance) || null],
        [t('order.refunded'), order.refunded?.amount ? money(order.refunded) : null],
        [t('order.refund_in_progress'), order.refund_in_progress?.amount ? money(order.refund_in_progress) : null],
        [t('order.revisions'), order.revisions ? `${order.revisions.used} / ${order.revisions.included}` : null],
      ]))),
    order.answers ? section(t('order.brief'), definition(brief(order, context))) : null,
    order.booking ? section(t('order.booking'), definition([
      [t('bookings.service'), order.booking.service],
      [t('bookings.when'), order.booking.start_utc ? dateTime(order.booking.start_utc, order.booking.timezone || zone) : null],
      [t('bookings.address'), order.booking.address],
    ])) : null,
    section(t('order.items'), table([
      { label: t('order.item'), cell: (i) => i.name },
      { label: t('order.quantity_short'), cell: (i) => String(i.quantity) },
      { label: t('order.unit'), cell: (i) => money({ amount: i.unit_amount, currency: order.total.currency }) },
      { label: t('order.amount'), cell: (i) => money({ amount: i.amount, currency: order.total.currency }) },
    ], order.items)),
    el('div', { class: 'columns' },
      section(t('order.move'), moveForm(context, order)),
      section(t('order.refund'), changedEventRefund(context, order), refundForm(context, order), owed.map((r) => payoutForm(context, order, r)))),
    el('div', { class: 'columns' },
      section(t('order.deliverable'), deliverableForm(context, order)),
      section(t('order.resend'), resendForm(order))),
    section(t('order.refunds'), table([
      { label: t('order.amount'), cell: (r) => el('span', { class: 'nowrap' }, money(r.amount)) },
      { label: t('orders.status'), cell: (r) => el('span', { class: 'nowrap' }, r.confirmed_at ? t('refund.paid_out') : t(`refund.${r.status}`)) },
      { label: t('order.refund_reason'), cell: (r) => el('span', {}, r.origin === 'provider' ? t('order.refund_at_provider') : r.reason || '', r.of_balance ? el('small', {}, ` (${t('order.of_balance')})`) : null) },
      { label: t('order.reference'), cell: (r) => r.provider_refund_id || '' },
      { label: t('orders.created'), cell: (r) => dateTime(r.requested_at, zone) },
    ], order.refunds || [])),
    section(t('order.payments'), table([
      { label: t('orders.created'), cell: (p) => dateTime(p.at, zone) },
      { label: 'Type', cell: (p) => p.type },
      { label: t('orders.status'), cell: (p) => p.outcome || '' },
      { label: t('order.amount'), cell: (p) => (p.amount !== null && p.amount !== undefined ? money({ amount: p.amount, currency: p.currency || order.total.currency }) : '') },
    ], order.payments || [])),
    section(t('order.notes'), el('p', { class: 'muted' }, t('order.notes_help')),
      el('ul', { class: 'notes' }, (order.notes || []).map((n) => el('li', {}, el('p', {}, n.note), el('small', {}, `${dateTime(n.at, zone)} · ${actorName(n.by, context.staff)}`)))),
      noteForm(context, order)),
    section(t('order.history'), timeline(order, zone, context.staff)),
  ];
}
