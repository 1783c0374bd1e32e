// Figures per day in the shop's own days: paid orders, revenue, refunds, fees, chargebacks, net,
// with totals per currency (amounts never mix currencies).
import { el } from './shared/dom.js';
import { dateTime, day, money, t } from './shared/i18n.js';
import * as api from './api.js';
import { section, shiftDay, shopToday, table } from './ui.js';

export async function figuresView(context, parameters) {
  const to = parameters.get('to') || shopToday(context.timezone());
  const from = parameters.get('from') || shiftDay(to, -29);
  const found = await api.get(`/admin/figures${api.query({ merchant: context.merchant, from, to })}`);
  const columns = (first) => [
    first,
    { label: t('figures.paid_orders'), cell: (r) => String(r.paid_orders) },
    { label: t('figures.revenue'), cell: (r) => money(r.revenue) },
    { label: t('figures.refunds'), cell: (r) => money(r.refunds) },
    { label: t('figures.fees'), cell: (r) => money(r.fees) },
    { label: t('figures.charged_back'), cell: (r) => money(r.charged_back) },
    { label: t('figures.net'), cell: (r) => el('strong', {}, money(r.net)) },
  ];
  const who = (r) => (context.merchant ? r.currency : `${context.merchantName(r.merchant)} · ${r.currency}`);
  return [
    el('h1', {}, t('figures.title')),
    el('p', { class: 'muted' }, `${day(from)} – ${day(to)} · `, t('figures.as_of', { date: dateTime(found.as_of, context.timezone()) })),
    section(t('figures.totals'), table(columns({ label: t('console.merchant'), cell: who }), found.totals)),
    section(t('figures.date'), table(columns({ label: t('figures.date'), cell: (r) => `${day(r.date)}${context.merchant ? '' : ` · ${context.merchantName(r.merchant)}`}` }), [...found.days].reverse())),
  ];
}
