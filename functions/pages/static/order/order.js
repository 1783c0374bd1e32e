// The hosted order page: what a customer sees of their order, in their language, from the link in
// every email and from the provider's page after paying. It reads GET /orders/{id} with the order
// token from the link's fragment (#token=...), and keeps reading while a payment is being settled.
import { el, languageSwitch } from './shared/dom.js';
import {
  LANGUAGES, dateTime, money, rememberLanguage, setLanguage, stageName, startingLanguage, statusName, t,
} from './shared/i18n.js';

const WAITING = ['pending_payment', 'payment_failed', 'needs_review'];
const POLL_DELAYS = [2000, 3000, 5000, 8000, 10000]; // then every 10 s
const POLL_FOR_MS = 30 * 60 * 1000; // a checkout expires long before this
// Why a give-back was refused, said in the page's words (POST /orders/{id}/ticket-returns's errors):
// the provider did not answer (the refund waits, its tickets held from the door), nothing left to
// give back, a dispute open, the provider refused it for good.
const GIVE_BACK_REFUSALS = ['provider_unavailable', 'nothing_to_give_back', 'payment_disputed', 'refund_refused'];

const app = document.getElementById('app');
const path = location.pathname;
const orderId = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
const apiBase = path.slice(0, path.lastIndexOf('/order/')); // '' locally, '/<stage>' behind API Gateway
const returned = new URLSearchParams(location.search).get('result');
const token = takeToken();
const started = Date.now();
let order = null;
let polls = 0;
// Tickets offered back (ticket_returns), by event id: where the customer is with each offer
// ('confirm', 'sending', and what went wrong), and how to draw its card as it is now. Both
// outlive a render (a language switch).
const returning = new Map();
const drawers = new Map();
// What the customer gave back on this page, said until they leave it.
const givenBack = [];

// The token rides in the fragment, which browsers never send to a server. Old links carried it in
// the query string: it moves to the fragment, and the page remembers it for this tab.
function takeToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  const query = new URLSearchParams(location.search);
  const fromQuery = query.get('token');
  const found = fromHash || fromQuery || sessionStorage.getItem(`order-token:${orderId}`);
  if (found) {
    sessionStorage.setItem(`order-token:${orderId}`, found);
    if (fromQuery) {
      query.delete('token');
      const search = query.toString();
      history.replaceState(null, '', `${path}${search ? `?${search}` : ''}#token=${encodeURIComponent(found)}`);
    }
  }
  return found;
}

async function load() {
  if (!token) return show(el('p', { class: 'notice' }, t('order.no_token')));
  let answer;
  try {
    answer = await fetch(`${apiBase}/orders/${encodeURIComponent(orderId)}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    show(el('p', { class: 'notice' }, t('order.offline')));
    return later();
  }
  if (answer.status === 404 || answer.status === 401) return show(el('p', { class: 'notice' }, t('order.not_found')));
  if (!answer.ok) {
    show(el('p', { class: 'notice' }, t('order.offline')));
    return later();
  }
  const first = order === null;
  order = await answer.json();
  if (first) setLanguage(startingLanguage(order.locale));
  render();
  if (WAITING.includes(order.status)) later();
}

function later() {
  if (Date.now() - started > POLL_FOR_MS) return;
  setTimeout(load, POLL_DELAYS[Math.min(polls++, POLL_DELAYS.length - 1)]);
}

function show(...nodes) {
  app.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
  app.setAttribute('aria-busy', 'false');
}

function render() {
  const timeZone = order.shop.timezone;
  document.title = `${t('order.title', { number: order.order_number })} · ${order.shop.name}`;
  show(
    languageSwitch(LANGUAGES, document.documentElement.lang, t('language'), (chosen) => {
      rememberLanguage(chosen);
      setLanguage(chosen);
      render();
    }),
    el('header', { class: 'order-header' },
      el('h1', {}, t('order.title', { number: order.order_number })),
      el('p', { class: 'muted' }, t('order.from', { shop: order.shop.name }))),
    banner(),
    statusCard(timeZone),
    progress(),
    ...givingBack(timeZone),
    tickets(timeZone),
    items(),
    timeline(timeZone),
  );
}

function banner() {
  if (!WAITING.includes(order.status) || !returned) return null;
  return el('p', { class: 'notice', role: 'status' }, t(returned === 'cancel' ? 'order.back_cancel' : 'order.back_success'));
}

function statusCard(timeZone) {
  const status = order.status;
  const inStages = order.stages.includes(status);
  const last = order.stages[order.stages.length - 1];
  const tickets = order.tickets || [];
  // An event of the order's tickets was cancelled: that, and why, before anything else.
  const cancelled = tickets.find((ticket) => ticket.event && ticket.event.cancelled);
  let next;
  if (cancelled) next = t('next.event_cancelled', { name: cancelled.event.name, reason: cancelled.event.cancelled });
  else if (order.balance && order.balance.status === 'due' && order.balance.link) next = t('next.balance_due', { amount: money(order.balance.amount) });
  else if (inStages) next = t(status === last ? 'next.delivered' : 'next.stage');
  else if (status === 'paid' && tickets.length && tickets.every((ticket) => ticket.state === 'voided')) next = t('next.tickets_given_back');
  else if (status === 'paid' && tickets.length) next = t('next.tickets');
  else next = t(`next.${status}`);
  const card = el('section', { class: `card status status-${WAITING.includes(status) ? 'waiting' : status}`, 'aria-labelledby': 'status-heading' },
    el('h2', { id: 'status-heading' }, statusName(status)),
    order.money_state && !['unpaid', 'paid'].includes(order.money_state)
      ? el('p', { class: 'money-state' }, t(`money.${order.money_state}`)) : null,
    el('p', {}, next),
    order.status_reason ? el('p', { class: 'message' }, el('strong', {}, `${t('order.message')}: `), order.status_reason) : null,
    action(),
    order.download && order.download.available ? download(timeZone) : null,
    WAITING.includes(status) ? el('p', { class: 'muted small' }, t('order.live')) : null,
  );
  return card;
}

function action() {
  const next = order.next_action;
  if (!next || !WAITING.includes(order.status) || order.status === 'needs_review') return null;
  if (next.type === 'redirect' && next.url) {
    const label = order.status === 'payment_failed' ? t('order.try_again') : t('order.pay_now');
    return el('p', {}, el('a', { class: 'button', href: next.url }, label));
  }
  if (next.type === 'ussd_prompt') {
    return el('p', { class: 'notice' }, t('order.approve_on_phone', { operator: (next.operator || '').toUpperCase() }));
  }
  return null;
}

function download(timeZone) {
  return el('p', {},
    el('a', { class: 'button', href: order.download.url }, t('order.download')),
    order.download.expires_at ? el('span', { class: 'muted small' }, ` ${t('order.download_until', { date: dateTime(order.download.expires_at, timeZone) })}`) : null);
}

function progress() {
  if (!order.stages.length || WAITING.includes(order.status) || ['expired', 'cancelled'].includes(order.status)) return null;
  const reached = order.stages.indexOf(order.status);
  return el('section', { class: 'card', 'aria-labelledby': 'progress-heading' },
    el('h2', { id: 'progress-heading' }, t('order.progress')),
    reached >= 0 ? el('p', { class: 'muted' }, t('order.stage_of', { n: reached + 1, count: order.stages.length })) : null,
    el('ol', { class: 'stages' }, order.stages.map((stage, index) =>
      el('li', { class: index < reached ? 'done' : index === reached ? 'current' : 'todo', 'aria-current': index === reached ? 'step' : false }, stageName(stage)))));
}

function tickets(timeZone) {
  if (!order.tickets || !order.tickets.length) return null;
  return el('section', { class: 'card', 'aria-labelledby': 'tickets-heading' },
    el('h2', { id: 'tickets-heading' }, t('order.tickets')),
    el('p', { class: 'muted small' }, t('order.tickets_note')),
    el('ul', { class: 'tickets' }, order.tickets.map((ticket) => el('li', { class: `ticket ticket-${ticket.state}` },
      el('p', {}, el('strong', {}, t('ticket.n_of', { n: ticket.number, count: ticket.count })), ` · ${ticket.product}`),
      el('p', {}, ticket.event.name, el('br'),
        dateTime(ticket.event.start, ticket.event.timezone || timeZone), el('br'),
        [ticket.event.venue, ticket.event.address].filter(Boolean).join(', ')),
      el('p', { class: 'code' }, ticket.code),
      ['voided', 'returning'].includes(ticket.state) ? el('p', { class: 'money-state' }, t(`ticket.${ticket.state}`)) : null))));
}

// Tickets for an event that changed (a new date, a new venue) after they were bought can be given
// back until it starts, refunded in full: one card per event, the offer, then a second step to
// confirm, then the refund and the order read again (the tickets show as refunded, the card goes).
function givingBack(timeZone) {
  drawers.clear();
  const done = givenBack.map((given, index) => el('p', { class: 'notice ok', role: 'status', id: `given-back-${index}`, tabindex: '-1' },
    t(`give_back.done_${given.status === 'owed' ? 'owed' : order.provider === 'paypal' ? 'paypal' : 'card'}_${given.count === 1 ? 'one' : 'many'}`,
      { name: given.name, amount: money(given.amount) })));
  return [...done, ...(order.ticket_returns || []).map((offer, index) => ticketReturn(offer, index, timeZone))];
}

function ticketReturn(offer, index, timeZone) {
  const { event } = offer;
  const id = `give-back-${index}`;
  const count = offer.tickets.length;
  const n = count === 1 ? 'one' : 'many';
  const amount = money(offer.amount);
  const details = [dateTime(event.start, event.timezone || timeZone), event.venue, event.address].filter(Boolean).join(', ');
  const step = el('div', { class: 'give-back-step' });
  const draw = (focus) => {
    const state = returning.get(event.id);
    if (!state) {
      const ask = el('button', { type: 'button', onclick: () => { returning.set(event.id, { step: 'confirm' }); draw('yes'); } }, t(`give_back.button_${n}`));
      step.replaceChildren(el('p', { class: 'choices' }, ask), el('p', { class: 'muted small' }, t('give_back.until')));
      if (focus) ask.focus();
      return;
    }
    const sending = state.step === 'sending';
    const yes = el('button', {
      type: 'button', 'aria-describedby': `${id}-confirm`, disabled: sending,
      onclick: () => send(event, draw),
    }, t(`give_back.yes_${n}`, { count, amount }));
    const keep = el('button', {
      type: 'button', class: 'secondary', disabled: sending,
      onclick: () => { returning.delete(event.id); draw('ask'); },
    }, t(`give_back.keep_${n}`));
    step.replaceChildren(...[
      el('p', { id: `${id}-confirm` }, t(`give_back.confirm_${n}`, { codes: offer.tickets.join(', ') })),
      el('p', { class: 'choices' }, yes, keep),
      sending ? el('p', { class: 'muted small', role: 'status' }, t('give_back.sending')) : null,
      state.error ? el('p', { class: 'notice error', role: 'alert' }, t(...state.error)) : null,
    ].filter(Boolean));
    if (focus === 'yes') yes.focus();
  };
  drawers.set(event.id, draw);
  draw();
  return el('section', { class: 'card give-back', 'aria-labelledby': `${id}-heading` },
    el('h2', { id: `${id}-heading` }, t('give_back.heading', { name: event.name })),
    el('p', {}, t('give_back.now', { details })),
    el('p', {}, t(`give_back.offer_${n}`, { count, amount })),
    step);
}

// The refund asked for (the same request again names the same refund, so trying again is safe).
async function send(event, draw) {
  if (returning.get(event.id)?.step === 'sending') return;
  returning.set(event.id, { step: 'sending' });
  draw();
  let answer = null;
  let body = null;
  try {
    answer = await fetch(`${apiBase}/orders/${encodeURIComponent(orderId)}/ticket-returns`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ event_id: event.id }),
      cache: 'no-store',
    });
    body = await answer.json().catch(() => null);
  } catch {
    answer = null;
  }
  if (answer && answer.status === 201 && body) {
    returning.delete(event.id);
    givenBack.push({ status: body.status, count: (body.tickets || []).length, name: event.name, amount: body.amount });
    await load();
    const said = document.getElementById(`given-back-${givenBack.length - 1}`);
    if (said) said.focus();
    return;
  }
  // Kept as words to look up, so that the message follows a change of language; the API's own
  // (English) message only for a refusal the page has no words for.
  const code = body && body.error;
  let error;
  if (!answer) error = ['give_back.offline'];
  else if ([401, 404].includes(answer.status)) error = ['order.not_found'];
  else if (GIVE_BACK_REFUSALS.includes(code)) error = [`give_back.${code}`];
  else error = ['give_back.failed', { message: (body && body.message) || answer.statusText || answer.status }];
  returning.set(event.id, { step: 'confirm', error });
  (drawers.get(event.id) || draw)('yes');
}

function items() {
  const rows = order.items.map((item) => el('tr', {},
    el('td', {}, item.name, item.quantity > 1 ? el('span', { class: 'muted' }, ` ${t('order.quantity', { n: item.quantity })}`) : null),
    el('td', { class: 'amount' }, money({ amount: item.amount, currency: order.total.currency }))));
  const sums = [[t('order.total'), order.total]];
  if (order.paid && order.paid.amount !== order.total.amount) sums.push([t('order.paid'), order.paid]);
  if (order.balance && order.balance.amount) {
    sums.push([t(order.balance.status === 'paid' ? 'order.balance_line_paid' : 'order.balance_line_due'), order.balance.amount]);
  }
  if (order.refunded && order.refunded.amount) sums.push([t('order.refunded'), order.refunded]);
  if (order.refund_in_progress && order.refund_in_progress.amount) sums.push([t('order.refund_in_progress'), order.refund_in_progress]);
  return el('section', { class: 'card', 'aria-labelledby': 'items-heading' },
    el('h2', { id: 'items-heading' }, t('order.items')),
    el('table', { class: 'items' },
      el('tbody', {}, rows),
      el('tfoot', {}, sums.map(([label, value]) => el('tr', {}, el('th', { scope: 'row' }, label), el('td', { class: 'amount' }, money(value)))))),
    order.balance && order.balance.link ? el('p', {}, el('a', { class: 'button', href: order.balance.link }, t('order.pay_balance'))) : null);
}

// An event of the order's tickets changed (a new date, a new venue): what it is now; or it was
// cancelled, and why.
function eventChanged(event, timeZone) {
  if (event.cancelled) return t('event.cancelled', { name: event.name, reason: event.cancelled });
  const details = [dateTime(event.start, event.timezone || timeZone), event.venue, event.address].filter(Boolean).join(', ');
  return t('event.details_changed', { name: event.name, details });
}

function timeline(timeZone) {
  const entries = order.history.map((entry) => {
    let what;
    if (entry.from === null || entry.from === undefined) what = t('event.placed');
    else if (entry.event) what = eventChanged(entry.event, timeZone);
    else if (entry.money && entry.money.amount && ['partially_refunded', 'refunded'].includes(entry.money.to)) {
      what = t('event.refund', { amount: money({ amount: entry.money.amount, currency: order.total.currency }) });
    } else if (entry.to === 'paid' && entry.from !== 'paid') what = t('order.paid');
    else if (entry.money && entry.money.amount > 0 && entry.money.from === 'paid' && entry.money.to === 'paid') {
      what = t('event.balance', { amount: money({ amount: entry.money.amount, currency: order.total.currency }) });
    }
    else if (entry.from !== entry.to) what = t('event.status', { status: statusName(entry.to) });
    else if (entry.money) what = t('event.money', { state: t(`money.${entry.money.to}`) });
    else what = statusName(entry.to);
    return el('li', {}, el('time', { datetime: entry.at }, dateTime(entry.at, timeZone)), ' ', el('span', {}, what));
  });
  return el('section', { class: 'card', 'aria-labelledby': 'timeline-heading' },
    el('h2', { id: 'timeline-heading' }, t('order.timeline')),
    el('ol', { class: 'timeline', reversed: true }, entries.reverse()));
}

setLanguage(startingLanguage(null));
load();
