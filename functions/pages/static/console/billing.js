// A signed-up merchant's plan on the platform: the plans side by side (price per currency, fee,
// limits), subscribing through Stripe Checkout, moving a running plan to another one (Stripe
// prorates the rest of the period), ending it with the period paid for (or keeping it after all),
// the current plan and its last invoice, giving Stripe another card (its customer portal), paying a
// failed invoice now, and a banner when the plan ends, a payment failed or the plan ended.
import { el } from './shared/dom.js';
import { day, money, t } from './shared/i18n.js';
import * as api from './api.js';
import { errorText, field, notice, section, select } from './ui.js';

const RUNNING = ['active', 'trialing', 'past_due', 'incomplete'];
const LAPSED = ['canceled', 'unpaid', 'incomplete_expired', 'paused'];

function limits(found) {
  const entries = Object.entries(found || {});
  if (!entries.length) return el('p', { class: 'muted' }, t('billing.no_limits'));
  return el('ul', { class: 'plain' }, entries.map(([name, count]) => el('li', {}, t(`billing.limit.${name}`, { count }))));
}

// What the merchant must know now, in the console's language (the API's next_step says the same).
function banner(billing) {
  if (!billing.on_platform) return notice(t('billing.not_on_platform'));
  if (ending(billing)) return notice(t('billing.ending', { day: epochDay(billing.ends_at) }), 'warning');
  if (billing.status === 'past_due') return notice(t('billing.past_due'), 'warning');
  if (LAPSED.includes(billing.status)) return notice(t('billing.lapsed'), 'error');
  if (billing.status === 'incomplete') return notice(t('billing.confirming'));
  if (!billing.status) return notice(t('billing.choose'));
  return null;
}

// Basis points as a percentage in the page's language: 150 -> "1.5 %" in English, "1,5 %" in French.
function percent(bps) {
  return `${new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 2 }).format(bps / 100)} %`;
}

// Stripe's epoch seconds as a day (billing periods are whole days in UTC).
function epochDay(seconds) {
  return seconds ? day(new Date(seconds * 1000).toISOString().slice(0, 10)) : '–';
}

function ending(billing) {
  return Boolean(billing.ends_at) && RUNNING.includes(billing.status);
}

// Ending the plan with the period paid for, in two steps: nothing ends on one stray click.
function endControl(context, billing) {
  if (!RUNNING.includes(billing.status) || billing.status === 'incomplete' || ending(billing)) return null;
  const problem = el('div', { 'aria-live': 'polite' });
  const box = el('div', { class: 'end-plan' });
  const ask = el('button', { type: 'button' }, t('billing.end'));
  const confirm = el('button', { type: 'button', class: 'danger' }, t('billing.end_confirm', { day: epochDay(billing.current_period_end) }));
  const back = el('button', { type: 'button' }, t('billing.end_keep'));
  ask.addEventListener('click', () => {
    box.replaceChildren(el('p', {}, t('billing.end_explain', { day: epochDay(billing.current_period_end) })), confirm, back, problem);
    confirm.focus();
  });
  back.addEventListener('click', () => box.replaceChildren(ask));
  confirm.addEventListener('click', async () => {
    problem.replaceChildren();
    confirm.disabled = true;
    try {
      await api.remove(`/admin/merchants/${encodeURIComponent(context.merchant)}/subscription`);
      location.hash = '#/billing?result=ending';
    } catch (error) {
      confirm.disabled = false;
      problem.replaceChildren(notice(errorText(error), 'error'));
    }
  });
  box.replaceChildren(ask);
  return box;
}

// Another card for the plan, given on Stripe's own page (its customer portal), which comes back here.
function cardControl(context, billing) {
  if (!RUNNING.includes(billing.status)) return null;
  const problem = el('div', { 'aria-live': 'polite' });
  const open = el('button', { type: 'button' }, t('billing.card_change'));
  open.addEventListener('click', async () => {
    problem.replaceChildren();
    open.disabled = true;
    try {
      const answer = await api.post(`/admin/merchants/${encodeURIComponent(context.merchant)}/billing/card`, {});
      location.assign(answer.url);
    } catch (error) {
      open.disabled = false;
      problem.replaceChildren(notice(errorText(error), 'error'));
    }
  });
  return el('div', { class: 'plan-action' }, el('p', { class: 'muted' }, t('billing.card_explain')), open, problem);
}

// A card whose bank asks to confirm the payment (3D Secure): the card holder does it on the invoice's
// page at Stripe, in a new tab; this page then waits for the plan to be active again.
function confirmNotice(url) {
  const link = el('a', { href: url, target: '_blank', rel: 'noopener' }, t('billing.pay_confirm_link'));
  link.addEventListener('click', () => {
    location.hash = '#/billing?result=paid';
  });
  return el('p', { class: 'notice warning', role: 'alert' }, t('billing.pay_confirm'), ' ', link);
}

// A failed invoice paid now, with the card Stripe has (just given, typically), not at its next retry.
function payControl(context, billing) {
  const invoice = billing.last_invoice;
  if (billing.status !== 'past_due' || !invoice || invoice.paid) return null;
  const problem = el('div', { 'aria-live': 'polite' });
  const pay = el('button', { type: 'button', class: 'primary' }, t('billing.pay_now', { amount: money({ amount: invoice.amount, currency: invoice.currency }) }));
  pay.addEventListener('click', async () => {
    problem.replaceChildren();
    pay.disabled = true;
    try {
      await api.post(`/admin/merchants/${encodeURIComponent(context.merchant)}/billing/pay`, {});
      location.hash = '#/billing?result=paid';
    } catch (error) {
      pay.disabled = false;
      const reason = error.body && error.body.reason;
      if (reason === 'authentication_required' && error.body.confirm_url) {
        problem.replaceChildren(confirmNotice(error.body.confirm_url));
      } else {
        problem.replaceChildren(notice(reason === 'card_declined' ? t('billing.pay_declined') : errorText(error), 'error'));
      }
    }
  });
  return el('div', { class: 'plan-action' }, el('p', { class: 'muted' }, t('billing.pay_explain')), pay, problem);
}

function current(context, billing) {
  if (!billing.plan) return null;
  const invoice = billing.last_invoice;
  const rows = [
    [t('billing.plan'), billing.plan_name || billing.plan],
    [t('billing.status'), t(`billing.state.${billing.status}`) || billing.status],
    [t('billing.fee'), percent(billing.fee_bps)],
    [t('billing.period_end'), epochDay(billing.current_period_end)],
    ...(ending(billing) ? [[t('billing.ends_on'), epochDay(billing.ends_at)]] : []),
    [t('billing.last_invoice'), invoice
      ? `${money({ amount: invoice.amount, currency: invoice.currency })} · ${invoice.paid ? t('billing.paid') : t('billing.failed')}`
      : '–'],
  ];
  return section(
    t('billing.current'),
    el('dl', { class: 'facts' }, rows.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)])),
    limits(billing.limits),
    cardControl(context, billing),
    payControl(context, billing),
    endControl(context, billing),
  );
}

// A running subscription keeps its currency: the one its invoices are in.
function paidIn(billing) {
  return billing.last_invoice ? billing.last_invoice.currency : null;
}

function planCard(context, plan, billing) {
  const running = RUNNING.includes(billing.status);
  const currencies = plan.monthly.map((price) => price.currency);
  const ours = running && billing.plan === plan.id;
  const switching = running && !ours;
  const usable = switching ? currencies.filter((currency) => currency === paidIn(billing)) : currencies;
  const chosen = select('currency', currencies.map((currency) => [currency, currency]), currencies[0]);
  const problem = el('div', { 'aria-live': 'polite' });
  const keep = ours && ending(billing);
  const label = keep ? t('billing.keep') : ours ? t('billing.your_plan') : switching ? t('billing.switch') : t('billing.subscribe');
  const form = el(
    'form',
    { class: 'subscribe', 'aria-label': t(switching ? 'billing.switch_to' : 'billing.subscribe_to', { plan: plan.name }) },
    currencies.length > 1 && !running ? field(t('billing.currency'), chosen) : null,
    el('button', { type: 'submit', class: 'primary', disabled: (ours && !keep) || !usable.length || !billing.on_platform ? 'disabled' : null }, label),
    switching ? el('p', { class: 'muted' }, usable.length ? t('billing.switch_prorated') : t('billing.switch_currency', { currency: paidIn(billing) })) : null,
    problem,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    try {
      const answer = await api.post(`/admin/merchants/${encodeURIComponent(context.merchant)}/subscription`, {
        plan: plan.id,
        currency: switching ? usable[0] : chosen.value || currencies[0],
      });
      if (answer.checkout_url) location.assign(answer.checkout_url);
      else location.hash = `#/billing?result=${answer.kept ? 'kept' : 'changing'}&plan=${encodeURIComponent(plan.id)}`;
    } catch (error) {
      const reason = error.body && error.body.reason;
      const words = { card_declined: 'billing.card_declined', authentication_required: 'billing.card_authentication' }[reason];
      problem.replaceChildren(notice(words ? t(words, { plan: plan.name }) : errorText(error), 'error'));
    }
  });
  return el(
    'article',
    { class: `panel plan${ours ? ' chosen' : ''}` },
    el('h3', {}, plan.name),
    el('ul', { class: 'plain prices' }, plan.monthly.map((price) => el('li', {}, t('billing.per_month', { price: money(price) })))),
    el('p', {}, t('billing.fee_each_payment', { fee: percent(plan.fee_bps) })),
    limits(plan.limits),
    form,
  );
}

// After asking Stripe for a change (another plan, the end, keeping the plan): its event moves the
// plan a moment later. Until it has, the page says so and looks again every 2 s (a minute at most).
const LOOK_AGAIN_MS = 2000;
const LOOKS = 30;
let looks = 0;

function awaited(done, doneText, waitingText) {
  if (done) {
    looks = 0;
    return notice(doneText, 'ok');
  }
  if (looks < LOOKS) {
    looks += 1;
    const here = location.hash;
    setTimeout(() => {
      if (location.hash === here) window.dispatchEvent(new HashChangeEvent('hashchange'));
    }, LOOK_AGAIN_MS);
  }
  return notice(waitingText);
}

function afterRequest(back, billing, offered, wanted) {
  const plan = offered.plans.find((found) => found.id === wanted);
  const name = plan ? plan.name : wanted;
  if (back === 'changing') return awaited(billing.plan === wanted, t('billing.changed', { plan: name }), t('billing.changing', { plan: name }));
  if (back === 'kept') return awaited(!billing.ends_at, t('billing.kept', { plan: name }), t('billing.keeping'));
  if (back === 'paid') return awaited(billing.status === 'active', t('billing.paid_again'), t('billing.paying'));
  if (back === 'ending') return awaited(ending(billing), t('billing.ended_request'), t('billing.ending_wait'));
  return null;
}

export async function billingView(context, parameters) {
  const heading = el('h1', {}, t('billing.title'));
  if (!context.merchant) return [heading, notice(t('billing.pick_merchant'))];
  const [billing, offered] = await Promise.all([
    api.get(`/admin/merchants/${encodeURIComponent(context.merchant)}/billing`),
    api.get('/platform/plans'),
  ]);
  const back = parameters.get('result');
  return [
    heading,
    back === 'subscribed' && !RUNNING.includes(billing.status) ? notice(t('billing.confirming')) : null,
    back === 'card_saved' ? notice(t('billing.card_saved'), 'ok') : null,
    afterRequest(back, billing, offered, parameters.get('plan')),
    banner(billing),
    current(context, billing),
    section(t('billing.plans'), el('div', { class: 'plans' }, offered.plans.map((plan) => planCard(context, plan, billing)))),
  ];
}
