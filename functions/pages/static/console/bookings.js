// A tradie's bookings by day or week, in the business's own time zone: who, what, where, and
// what is still to pay.
import { el } from './shared/dom.js';
import { day, statusName, t } from './shared/i18n.js';
import * as api from './api.js';
import { balanceText, notice, shiftDay, shopToday, table } from './ui.js';

function localTime(iso, zone) {
  return new Intl.DateTimeFormat(document.documentElement.lang, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone,
  }).format(new Date(iso));
}

export async function bookingsView(context, parameters) {
  const heading = el('h1', {}, t('bookings.title'));
  if (!context.merchant) return [heading, notice(t('bookings.pick_merchant'))];
  const zone = context.timezone();
  const span = parameters.get('span') === 'week' ? 'week' : 'day';
  const start = parameters.get('date') || shopToday(zone);
  const length = span === 'week' ? 7 : 1;
  const last = shiftDay(start, length - 1);
  const found = await api.get(`/admin/bookings${api.query({ merchant: context.merchant, from: start, to: last })}`);
  const link = (date, chosenSpan, label) => el('a', { class: 'button', href: `#/bookings?${new URLSearchParams({ date, span: chosenSpan })}` }, label);
  return [
    heading,
    el('div', { class: 'buttons' },
      link(shiftDay(start, -length), span, `← ${t('bookings.previous')}`),
      link(shopToday(zone), span, t('bookings.today')),
      link(shiftDay(start, length), span, `${t('bookings.next')} →`),
      link(start, span === 'week' ? 'day' : 'week', span === 'week' ? t('bookings.day') : t('bookings.week'))),
    el('p', { class: 'muted' }, span === 'week' ? `${day(start)} – ${day(last)}` : day(start)),
    table([
      { label: t('bookings.when'), cell: (b) => (b.start_utc ? localTime(b.start_utc, b.timezone || zone) : b.start || '') },
      { label: t('orders.customer'), cell: (b) => el('span', {}, el('a', { href: `#/orders/${encodeURIComponent(b.booking_id)}` }, b.customer.name), el('br'), el('small', {}, b.customer.phone || '')) },
      { label: t('bookings.service'), cell: (b) => b.service || b.service_id || '' },
      { label: t('bookings.address'), cell: (b) => b.address || '' },
      { label: t('orders.status'), cell: (b) => statusName(b.status) },
      { label: t('bookings.balance'), cell: (b) => balanceText(b.balance) },
    ], found.bookings),
  ];
}
