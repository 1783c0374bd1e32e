// Work to do: orders a person must look at, refunds owed by hand (mobile money), emails that did
// not reach the customer, and what the nightly reconciliation with the providers found.
import { el } from './shared/dom.js';
import { dateTime, money, t } from './shared/i18n.js';
import * as api from './api.js';
import { badge, errorText, notice, section, table } from './ui.js';

function orderLink(id, number) {
  return el('a', { href: `#/orders/${encodeURIComponent(id)}` }, number || id);
}

// Each list loads on its own: one failing (a platform-only list) does not hide the others.
async function part(title, load, render) {
  try {
    return section(title, render(await load()));
  } catch (error) {
    return section(title, notice(errorText(error), 'error'));
  }
}

export async function workView(context) {
  const merchant = context.merchant;
  const zone = (m) => context.timezone(m);
  const parts = [
    part(t('work.flagged'), () => api.get(`/admin/orders${api.query({ merchant, status: 'needs_review' })}`), (found) => table([
      { label: t('orders.number'), cell: (o) => orderLink(o.order_id, o.order_number) },
      { label: t('orders.created'), cell: (o) => dateTime(o.created_at, zone(o.merchant)) },
      { label: t('orders.customer'), cell: (o) => o.customer.name },
      { label: t('orders.total'), cell: (o) => money(o.total) },
      { label: t('orders.status'), cell: (o) => badge(o.status) },
    ], found.orders)),
    part(t('work.owed'), () => api.get(`/admin/refunds/owed${api.query({ merchant })}`), (found) => table([
      { label: t('orders.number'), cell: (r) => orderLink(r.order.order_id, r.order.order_number) },
      { label: t('order.amount'), cell: (r) => money(r.amount) },
      { label: t('orders.customer'), cell: (r) => el('span', {}, r.pay_to.name, el('br'), el('small', {}, r.pay_to.phone || '')) },
      { label: t('orders.provider'), cell: (r) => r.pay_to.provider },
      { label: t('orders.created'), cell: (r) => dateTime(r.requested_at, zone(r.merchant)) },
    ], found.refunds)),
    part(t('work.emails'), () => api.get(`/admin/emails/problems${api.query({ merchant })}`), (found) => table([
      { label: t('orders.number'), cell: (e) => (e.order_id ? orderLink(e.order_id, e.order_number) : '') },
      { label: t('work.kind'), cell: (e) => t(`kind.${e.kind}`) },
      { label: t('work.to'), cell: (e) => e.to || '' },
      { label: t('orders.status'), cell: (e) => e.status },
      { label: t('work.reason'), cell: (e) => e.reason || '' },
      { label: t('work.attempts'), cell: (e) => String(e.attempts) },
    ], found.emails)),
    part(t('work.reconciliations'), () => api.get('/admin/reconciliations?limit=5'), (found) => table([
      { label: t('work.started'), cell: (r) => dateTime(r.started_at, zone()) },
      { label: t('work.findings'), cell: (r) => {
        const counts = Object.entries(r.counts || {}).filter(([, n]) => n > 0);
        return counts.length ? counts.map(([kind, n]) => `${kind.replace(/_/g, ' ')}: ${n}`).join(' · ') : t('work.clean');
      } },
    ], found.runs)),
  ];
  if (context.staff.platform) {
    parts.push(part(t('work.incidents'), () => api.get('/admin/incidents'), (found) => table([
      { label: t('orders.provider'), cell: (i) => i.provider },
      { label: t('order.amount'), cell: (i) => (i.amount ? money(i.amount) : '') },
      { label: 'Reference', cell: (i) => i.payment_ref || i.provider_ref || '' },
      { label: t('orders.created'), cell: (i) => dateTime(i.at, 'UTC') },
    ], found.incidents)));
  }
  return [el('h1', {}, t('work.title')), ...(await Promise.all(parts))];
}
