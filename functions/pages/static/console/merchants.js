// One section, two views. Platform staff: every merchant with its plan, payments set-up and last
// 30 days, and suspending or lifting a suspension. A merchant's staff: getting paid, i.e. Stripe
// onboarding ("Set up payments") and the Express dashboard ("Open Stripe dashboard").
import { el } from './shared/dom.js';
import { dateTime, day, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, field, notice, section, table } from './ui.js';

const yes = (value) => (value ? t('merchants.yes') : t('merchants.no'));

function suspensionForm(context, row) {
  const path = `/admin/merchants/${encodeURIComponent(row.merchant)}/suspension`;
  if (row.suspended) {
    return actionForm(
      { class: 'inline', 'aria-label': `${t('merchants.lift')} ${row.name}` },
      [el('button', { type: 'submit' }, t('merchants.lift'))],
      () => api.remove(path),
      () => context.refresh(),
    );
  }
  return actionForm(
    { class: 'inline', 'aria-label': `${t('merchants.suspend')} ${row.name}` },
    [
      field(t('merchants.reason'), el('input', { name: 'reason', required: true, minlength: '3', maxlength: '500' })),
      el('button', { type: 'submit' }, t('merchants.suspend')),
    ],
    (form) => api.post(path, { reason: form.elements.reason.value.trim() }),
    () => context.refresh(),
  );
}

async function platformView(context, parameters) {
  const limit = parameters.get('limit');  // the API's page size (50) unless the link says otherwise
  const found = await api.get(`/admin/merchants${api.query({ limit, cursor: parameters.get('cursor') })}`);
  const paging = [];
  if (parameters.get('cursor')) paging.push(el('a', { class: 'button', href: `#/merchants${api.query({ limit })}` }, t('console.first')));
  if (found.next_cursor) {
    const next = api.query({ limit, cursor: found.next_cursor });
    paging.push(el('a', { class: 'button', href: `#/merchants${next}`, rel: 'next' }, t('console.more')));
  }
  return [
    el('h1', {}, t('merchants.title')),
    el('p', { class: 'muted' }, t('figures.as_of', { date: dateTime(found.as_of, 'UTC') })),
    table([
      { label: t('console.merchant'), cell: (r) => el('span', {}, el('strong', {}, r.name), el('br'), el('code', {}, r.merchant)) },
      { label: t('merchants.kind'), cell: (r) => (r.kind ? t(`signup.kind.${r.kind}`) : t('merchants.catalog_shop')) },
      { label: t('merchants.plan'), cell: (r) => (r.plan ? `${r.plan} (${r.plan_status || '—'})` : '—') },
      { label: t('merchants.payments'), cell: (r) => `${t('merchants.charges')}: ${yes(r.onboarding.charges_enabled)} · ${t('merchants.payouts')}: ${yes(r.onboarding.payouts_enabled)}` },
      { label: t('merchants.signed_up'), cell: (r) => (r.signed_up_at ? day(r.signed_up_at.slice(0, 10)) : '—') },
      { label: t('merchants.activity'), cell: (r) => t('merchants.orders_30', { count: r.activity.orders_last_30_days, last: r.activity.last_order_on ? day(r.activity.last_order_on) : '—' }) },
      { label: t('merchants.state'), cell: (r) => (r.suspended ? el('span', { class: 'badge status-cancelled' }, t('merchants.suspended', { reason: r.suspended.reason })) : (r.taking_orders ? t('merchants.taking_orders') : t(`merchants.refusal.${r.refusal}`))) },
      { label: t('merchants.action'), cell: (r) => suspensionForm(context, r) },
    ], found.merchants, { caption: t('merchants.title') }),
    el('div', { class: 'buttons paging' }, paging),
  ];
}

async function paymentsView(context) {
  const id = encodeURIComponent(context.merchant);
  const merchant = await api.get(`/admin/merchants/${id}`);
  const connect = merchant.connect;
  const status = connect.charges_enabled
    ? notice(t('payments.ready'), 'ok')
    : notice(connect.account ? t('payments.unfinished') : t('payments.not_started'), 'info');
  const setUp = actionForm(
    { class: 'inline', 'aria-label': t('payments.set_up') },
    [el('button', { type: 'submit', class: connect.charges_enabled ? null : 'primary' }, connect.account ? t('payments.continue') : t('payments.set_up'))],
    async () => {
      const answer = await api.post(`/admin/merchants/${id}/stripe/connect`);
      location.assign(answer.onboarding_url);
      return false;
    },
  );
  const dashboard = actionForm(
    { class: 'inline', 'aria-label': t('payments.dashboard') },
    [el('button', { type: 'submit', class: connect.charges_enabled ? 'primary' : null }, t('payments.dashboard'))],
    async () => {
      const answer = await api.post(`/admin/merchants/${id}/stripe/login-link`);
      location.assign(answer.url);
      return false;
    },
  );
  return [
    el('h1', {}, t('payments.title')),
    section(t('payments.status'),
      status,
      el('dl', { class: 'facts' },
        el('dt', {}, t('merchants.charges')), el('dd', { id: 'charges' }, yes(connect.charges_enabled)),
        el('dt', {}, t('merchants.payouts')), el('dd', { id: 'payouts' }, yes(connect.payouts_enabled)),
        el('dt', {}, t('payments.account')), el('dd', {}, connect.account ? el('code', {}, connect.account) : '—')),
      connect.charges_enabled ? null : setUp,
      connect.account ? dashboard : null),
  ];
}

export async function merchantsView(context, parameters) {
  if (context.staff.platform && !context.merchant) return platformView(context, parameters);
  if (!context.merchant) return [el('h1', {}, t('payments.title')), notice(t('payments.pick_merchant'))];
  return paymentsView(context);
}
