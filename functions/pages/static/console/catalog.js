// The shop's products with their prices and stock, and a form per product to adjust stock (a
// delivery came in, a pass was damaged). Every change is recorded with who and why.
import { el } from './shared/dom.js';
import { money, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, field, notice, section, table } from './ui.js';

function prices(product) {
  return Object.entries(product.prices || {}).map(([currency, amount]) => money({ amount, currency })).join(' · ');
}

function stockForm(context, product) {
  return actionForm(
    { class: 'inline', 'aria-label': `${t('catalog.adjust')} ${product.name}` },
    [
      field(t('catalog.delta'), el('input', { name: 'delta', type: 'number', step: '1', required: true, class: 'short' })),
      field(t('catalog.reason'), el('input', { name: 'reason', maxlength: '200', required: true })),
      el('button', { type: 'submit' }, t('catalog.adjust')),
    ],
    (form) => api.post(`/admin/products/${encodeURIComponent(product.sku)}/stock`, {
      delta: Number.parseInt(form.elements.delta.value, 10),
      reason: form.elements.reason.value.trim(),
    }),
    () => context.refresh(),
  );
}

export async function catalogView(context) {
  if (!context.merchant) return [el('h1', {}, t('catalog.title')), notice(t('bookings.pick_merchant'))];
  const found = await api.get(`/admin/products${api.query({ merchant: context.merchant })}`);
  return [
    el('h1', {}, t('catalog.title')),
    table([
      { label: t('catalog.sku'), cell: (p) => el('code', {}, p.sku) },
      { label: t('catalog.name'), cell: (p) => el('span', {}, p.name, p.active ? null : el('small', {}, ` (${t('catalog.inactive')})`)) },
      { label: t('catalog.price'), cell: prices },
      { label: t('catalog.stock'), cell: (p) => (p.stock === null ? t('catalog.unlimited') : String(p.stock)) },
      { label: t('catalog.adjust'), cell: (p) => (p.stock === null ? '' : stockForm(context, p)) },
    ], found.products, { caption: t('catalog.title') }),
    found.services && found.services.length ? section(t('catalog.services'), table([
      { label: t('catalog.name'), cell: (s) => s.name },
      { label: t('bookings.when'), cell: (s) => t('catalog.duration', { minutes: s.duration_minutes }) },
      { label: t('catalog.price'), cell: (s) => money(s.full_price) },
    ], found.services)) : null,
  ];
}
