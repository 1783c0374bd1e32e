// The shop's products with their prices and stock; one product's page to change its name, text,
// prices and per-order limit, take it off sale or put it back, and adjust its stock with the
// history of every adjustment; and a form for a new product. Prices are typed in the currency's
// own units ("12.50", "5000" for XAF) and sent as integers in its minor unit.
import { el } from './shared/dom.js';
import { dateTime, day, money, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, actorName, field, flashNotice, majorUnits, minorUnits, notice, section, select, table } from './ui.js';

const MAX_PER_ORDER = 20; // what the API gives a product when the form leaves it out

function prices(product) {
  return Object.entries(product.prices || {}).map(([currency, amount]) => money({ amount, currency })).join(' · ');
}

function productLink(product) {
  return el('a', { href: `#/catalog/${encodeURIComponent(product.sku)}` }, product.name);
}

function stockForm(context, product, done = () => context.refresh()) {
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
    done,
  );
}

export async function catalogView(context, parameters = new URLSearchParams()) {
  if (!context.merchant) return [el('h1', {}, t('catalog.title')), notice(t('bookings.pick_merchant'))];
  const found = await shopCatalog(context.merchant);
  return [
    el('h1', {}, t('catalog.title')),
    flashNotice(context),
    el('div', { class: 'buttons' }, el('a', { class: 'button', href: '#/catalog/new' }, t('catalog.new'))),
    table([
      { label: t('catalog.sku'), cell: (p) => el('code', {}, p.sku) },
      { label: t('catalog.name'), cell: (p) => el('span', {}, productLink(p), p.active ? null : el('small', {}, ` (${t('catalog.inactive')})`)) },
      { label: t('catalog.price'), cell: prices },
      { label: t('catalog.stock'), cell: (p) => (p.stock === null ? t('catalog.unlimited') : String(p.stock)) },
      { label: t('catalog.adjust'), cell: (p) => (p.stock === null ? '' : stockForm(context, p)) },
    ], found.products, { caption: t('catalog.title') }),
    found.services && found.services.length ? section(t('catalog.services'), table([
      { label: t('catalog.name'), cell: (s) => s.name },
      { label: t('bookings.when'), cell: (s) => t('catalog.duration', { minutes: s.duration_minutes }) },
      { label: t('catalog.price'), cell: (s) => money(s.full_price) },
    ], found.services)) : null,
    eventsSection(context, found, parameters.get('event')),
  ];
}

// One amount field per currency (the product's, or for a new one the shop's; emptied: not sold
// in it), and one more to add a currency, its list suggesting the ones the shop's products use.
function priceFields(currencies, table, suggested) {
  const listId = 'catalog-currencies';
  return el('fieldset', { class: 'prices' },
    el('legend', {}, t('catalog.prices')),
    currencies.map((currency) => field(
      t('catalog.price_in', { currency }),
      el('input', { name: `price-${currency}`, inputmode: 'decimal', autocomplete: 'off', class: 'short', value: currency in table ? majorUnits(table[currency], currency) : '' }),
    )),
    el('div', { class: 'inline-fields' },
      field(t('catalog.other_currency'), el('input', { name: 'new_currency', list: listId, maxlength: '3', autocomplete: 'off', class: 'short' })),
      field(t('catalog.other_amount'), el('input', { name: 'new_amount', inputmode: 'decimal', autocomplete: 'off', class: 'short' }))),
    el('datalist', { id: listId }, suggested.map((currency) => el('option', { value: currency }))),
    el('small', {}, t('catalog.prices_help')));
}

// The price table the form says: every amount checked as money in its currency before sending.
function typedPrices(form, currencies) {
  const found = {};
  const take = (currency, text) => {
    if (!text.trim()) return;
    const amount = minorUnits(text, currency);
    if (amount === null || amount <= 0) throw new Error(t('catalog.bad_price', { currency, text }));
    found[currency] = amount;
  };
  for (const currency of currencies) take(currency, form.elements[`price-${currency}`].value);
  const currency = form.elements.new_currency.value.trim().toUpperCase();
  const amount = form.elements.new_amount.value;
  if (currency || amount.trim()) {
    if (!/^[A-Z]{3}$/.test(currency)) throw new Error(t('catalog.bad_currency', { currency }));
    if (!amount.trim()) throw new Error(t('catalog.bad_price', { currency, text: '' }));
    take(currency, amount);
  }
  if (!Object.keys(found).length) throw new Error(t('catalog.no_price'));
  return found;
}

function limitField(value) {
  return field(t('catalog.max_per_order'), el('input', { name: 'max_per_order', type: 'number', min: '1', max: '100', step: '1', required: true, class: 'short', value: String(value) }));
}

function typedLimit(form) {
  const limit = Number(form.elements.max_per_order.value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new Error(t('catalog.bad_limit'));
  return limit;
}

async function shopCatalog(merchant) {
  return api.get(`/admin/products${api.query({ merchant })}`);
}

function currenciesOf(products) {
  return [...new Set(products.flatMap((p) => Object.keys(p.prices || {})))].sort();
}

function eventLabel(event) {
  return event.start ? `${event.name} · ${day(String(event.start).slice(0, 10))}` : event.name;
}

// "Sat 20 Mar 2027, 20:00 – 01:00": an event's local times, as the shop's clocks say them.
export function eventTimes(event) {
  const [startDay, startTime] = String(event.start).split('T');
  const [endDay, endTime] = String(event.end).split('T');
  return `${day(startDay)}, ${startTime} – ${endDay === startDay ? '' : `${day(endDay)}, `}${endTime}`;
}

// Once its tickets are out, an event changes only with every holder told: the API refuses the
// change (409 tickets_issued) until staff confirm with the button this warning brings.
function tellHoldersWarning(event) {
  return el('div', { class: 'notice', role: 'alert' },
    el('p', {}, t('catalog.tickets_out', { name: event.name })),
    el('button', { type: 'submit', name: 'tell_holders', class: 'primary' }, t('catalog.tell_holders')));
}

// A new event, or (`event` given) the change of one: freely until its tickets are issued, then
// telling each holder the new details.
function eventForm(context, event = null) {
  const title = event ? t('catalog.edit_event', { name: event.name }) : t('catalog.new_event');
  const base = `/admin/merchants/${encodeURIComponent(context.merchant)}/events`;
  const warning = el('div', {});
  return actionForm(
    { class: 'action', 'aria-label': title },
    [
      el('div', { class: 'gallery-fields' },
        field(t('catalog.event_name'), el('input', { name: 'name', maxlength: '120', required: true, autocomplete: 'off', value: event?.name || '' })),
        field(t('catalog.event_start'), el('input', { name: 'start', type: 'datetime-local', required: true, value: event?.start || '' })),
        field(t('catalog.event_end'), el('input', { name: 'end', type: 'datetime-local', required: true, value: event?.end || '' })),
        field(t('catalog.venue'), el('input', { name: 'venue', maxlength: '120', autocomplete: 'off', value: event?.venue || '' })),
        field(t('catalog.address'), el('input', { name: 'address', maxlength: '300', autocomplete: 'off', value: event?.address || '' }))),
      el('p', { class: 'muted' }, t(event ? 'catalog.event_edit_help' : 'catalog.event_zone', { zone: context.timezone() })),
      el('div', { class: 'buttons' },
        el('button', { type: 'submit', class: 'primary' }, t(event ? 'catalog.save' : 'catalog.add_event')),
        event ? el('a', { class: 'button', href: '#/catalog' }, t('catalog.cancel_edit')) : null),
      warning, // after Save: Enter in a field submits with the first button, never the one that emails
    ],
    async (form, submitter) => {
      const value = (name) => form.elements[name].value.trim();
      if (!value('name') || !value('start') || !value('end')) throw new Error(t('catalog.event_fill_in'));
      const body = { name: value('name'), start: value('start').slice(0, 16), end: value('end').slice(0, 16) };
      if (!event) return api.post(base, { ...body, ...(value('venue') ? { venue: value('venue') } : {}), ...(value('address') ? { address: value('address') } : {}) });
      const tell = submitter?.name === 'tell_holders';
      try {
        return await api.patch(`${base}/${encodeURIComponent(event.id)}`, { ...body, venue: value('venue'), address: value('address'), ...(tell ? { tell_holders: true } : {}) });
      } catch (error) {
        if (tell || !(error instanceof api.ApiError) || error.status !== 409 || error.body.error !== 'tickets_issued') throw error;
        warning.replaceChildren(tellHoldersWarning(event));
        return false;
      }
    },
    (saved) => {
      if (saved.telling_holders) context.flash = t('catalog.event_telling', { name: saved.name });
      else context.flash = t(event ? 'catalog.event_changed' : 'catalog.event_added', { name: saved.name });
      context.go('#/catalog');
    },
  );
}

// Cancelling an event, apart from its Save: why (emailed to every holder), then once confirmed its
// ticket types go off sale and every holder is refunded in full. A cancelled event changes no more.
function cancelForm(context, event) {
  // Typing the reason asked for clears what the form said when it was missing.
  const why = el('input', { name: 'cancelled', maxlength: '300', required: true, autocomplete: 'off', oninput: () => why.form.querySelector('.form-result').replaceChildren() });
  return actionForm(
    { class: 'action', 'aria-label': t('catalog.cancel_event') },
    [
      field(t('catalog.cancel_why'), why),
      el('button', { type: 'submit', class: 'danger' }, t('catalog.cancel_button')),
    ],
    (form) => {
      const reason = form.elements.cancelled.value.trim();
      if (!reason) throw new Error(t('catalog.cancel_why_needed'));
      // eslint-disable-next-line no-alert
      if (!window.confirm(t('catalog.cancel_confirm', { name: event.name }))) return false;
      return api.patch(`/admin/merchants/${encodeURIComponent(context.merchant)}/events/${encodeURIComponent(event.id)}`, { cancelled: reason });
    },
    (cancelled) => {
      context.flash = t('catalog.event_cancelled', { name: cancelled.name });
      context.go('#/catalog');
    },
  );
}

// Where the change of an event is in telling its holders: under way, or done; or that it is
// cancelled, and why.
function holdersState(event) {
  if (event.cancelled) {
    return [' ', el('span', { class: 'badge status-cancelled' }, t('catalog.cancelled')),
      event.telling_holders ? el('small', {}, ` (${t('catalog.refunding_holders')})`) : null,
      el('br'), el('small', {}, event.cancelled)];
  }
  if (event.telling_holders) return el('small', {}, ` (${t('catalog.telling_holders')})`);
  if (event.revision > 0) return el('small', {}, ` (${t('catalog.holders_told')})`);
  return null;
}

function correctLink(event) {
  if (event.cancelled) return el('span', { class: 'muted' }, '—');
  return el('a', { class: 'nowrap', href: `#/catalog?${new URLSearchParams({ event: event.id })}`, 'aria-label': t('catalog.edit_event', { name: event.name }) }, t('catalog.correct'));
}

function eventsSection(context, found, editing) {
  const sellsTickets = found.events.length || found.products.some((p) => p.kind === 'ticket');
  if (!sellsTickets) return null;
  const chosen = found.events.find((e) => e.id === editing && !e.cancelled);
  return section(t('catalog.events'),
    table([
      { label: t('catalog.event_name'), cell: (e) => el('span', {}, e.name, holdersState(e)) },
      { label: t('bookings.when'), cell: eventTimes },
      { label: t('catalog.venue'), cell: (e) => el('span', {}, e.venue || '', e.address ? el('small', {}, ` ${e.address}`) : null) },
      { label: t('catalog.correct'), cell: correctLink },
    ], found.events, { caption: t('catalog.events') }),
    el('h3', {}, chosen ? t('catalog.edit_event', { name: chosen.name }) : t('catalog.new_event')),
    eventForm(context, chosen || null),
    chosen ? [el('h3', {}, t('catalog.cancel_event')), cancelForm(context, chosen)] : null);
}

function ticketFields(events) {
  if (!events.length) return null;
  return el('div', { class: 'inline-fields' },
    field(t('catalog.event'), select('event', [['', t('catalog.no_event')], ...events.map((e) => [e.id, eventLabel(e)])], ''), t('catalog.event_help')),
    field(t('catalog.admissions'), el('input', { name: 'admissions', type: 'number', min: '1', max: '20', step: '1', class: 'short', value: '1' })));
}

function backLink() {
  return el('p', {}, el('a', { href: '#/catalog' }, t('catalog.back')));
}

async function newProductView(context) {
  if (!context.merchant) return [el('h1', {}, t('catalog.new')), notice(t('bookings.pick_merchant'))];
  const { products, events } = await shopCatalog(context.merchant);
  const kinds = [...new Set(products.map((p) => p.kind))].sort();
  const currencies = currenciesOf(products);
  const form = actionForm(
    { class: 'action', 'aria-label': t('catalog.new') },
    [
      el('div', { class: 'gallery-fields' },
        field(t('catalog.name'), el('input', { name: 'name', maxlength: '120', required: true, autocomplete: 'off' })),
        field(t('catalog.sku'), el('input', { name: 'sku', maxlength: '64', required: true, pattern: '[A-Za-z0-9._\\-]+', autocomplete: 'off' }), t('catalog.sku_help')),
        field(t('catalog.kind'), el('input', { name: 'kind', maxlength: '40', required: true, list: 'catalog-kinds', autocomplete: 'off', value: kinds.length === 1 ? kinds[0] : '' }), t('catalog.kind_help')),
        el('datalist', { id: 'catalog-kinds' }, kinds.map((kind) => el('option', { value: kind })))),
      ticketFields(events),
      field(t('catalog.description'), el('textarea', { name: 'description', maxlength: '1000', rows: '3' })),
      priceFields(currencies, {}, currencies),
      el('div', { class: 'inline-fields' },
        field(t('catalog.stock'), el('input', { name: 'stock', type: 'number', min: '0', step: '1', class: 'short' }), t('catalog.stock_help')),
        limitField(MAX_PER_ORDER)),
      el('button', { type: 'submit', class: 'primary' }, t('catalog.create')),
    ],
    (sent) => {
      const value = (name) => (sent.elements[name] ? sent.elements[name].value.trim() : '');
      const event = value('event');
      const admissions = Number(value('admissions') || 1);
      if (event && (!Number.isInteger(admissions) || admissions < 1 || admissions > 20)) throw new Error(t('catalog.bad_admissions'));
      if (!value('name') || !(value('kind') || event)) throw new Error(t('catalog.fill_in'));
      if (!/^[A-Za-z0-9._-]+$/.test(value('sku'))) throw new Error(t('catalog.bad_sku'));
      const stock = value('stock');
      if (stock && !/^\d+$/.test(stock)) throw new Error(t('catalog.bad_stock'));
      return api.post('/admin/products', {
        merchant: context.merchant,
        sku: value('sku'),
        name: value('name'),
        kind: (value('kind') || 'ticket').toLowerCase(),
        ...(event ? { event, admissions } : {}),
        ...(value('description') ? { description: value('description') } : {}),
        prices: typedPrices(sent, currencies),
        ...(stock ? { stock: Number(stock) } : {}),
        max_per_order: typedLimit(sent),
      });
    },
    (created) => {
      context.flash = t('catalog.created', { name: created.name });
      context.go(`#/catalog/${encodeURIComponent(created.sku)}`);
    },
  );
  return [el('h1', {}, t('catalog.new')), backLink(), section(t('catalog.details'), form)];
}

function detailsForm(context, product, suggested) {
  const table = product.prices || {};
  const currencies = Object.keys(table).sort();
  return actionForm(
    { class: 'action', 'aria-label': t('catalog.details') },
    [
      field(t('catalog.name'), el('input', { name: 'name', maxlength: '120', required: true, autocomplete: 'off', value: product.name })),
      field(t('catalog.description'), el('textarea', { name: 'description', maxlength: '1000', rows: '3' }, product.description || '')),
      priceFields(currencies, table, suggested),
      limitField(product.max_per_order),
      el('button', { type: 'submit', class: 'primary' }, t('catalog.save')),
    ],
    (form) => {
      const name = form.elements.name.value.trim();
      if (!name) throw new Error(t('catalog.fill_in'));
      return api.patch(`/admin/products/${encodeURIComponent(product.sku)}`, {
        name,
        description: form.elements.description.value.trim() || null,
        prices: typedPrices(form, currencies),
        max_per_order: typedLimit(form),
      });
    },
    () => {
      context.flash = t('catalog.changed');
      context.refresh();
    },
  );
}

function saleForm(context, product) {
  const on = product.active;
  return actionForm(
    { class: 'action', 'aria-label': t('catalog.sale') },
    [
      el('p', {}, t(on ? 'catalog.on_sale_now' : 'catalog.off_sale_now')),
      el('button', { type: 'submit', class: on ? 'danger' : 'primary' }, t(on ? 'catalog.take_off' : 'catalog.put_back')),
    ],
    () => api.patch(`/admin/products/${encodeURIComponent(product.sku)}`, { active: !on }),
    () => {
      context.flash = t(on ? 'catalog.taken_off' : 'catalog.put_back_done');
      context.refresh();
    },
  );
}

function stockSection(context, product) {
  const zone = context.timezone(product.merchant);
  if (product.stock === null) return section(t('catalog.stock'), el('p', {}, t('catalog.not_counted')));
  return section(t('catalog.stock'),
    el('p', { class: 'policy' }, t('catalog.left', { n: product.stock })),
    stockForm(context, product, () => {
      context.flash = t('catalog.adjusted');
      context.refresh();
    }),
    el('h3', {}, t('catalog.movements')),
    table([
      { label: t('catalog.movement_at'), cell: (m) => el('time', { datetime: m.at }, dateTime(m.at, zone)) },
      { label: t('catalog.delta'), cell: (m) => (m.delta > 0 ? `+${m.delta}` : String(m.delta)) },
      { label: t('catalog.reason'), cell: (m) => m.reason },
      { label: t('catalog.by'), cell: (m) => actorName(m.by, context.staff) },
    ], product.stock_movements || [], { caption: t('catalog.movements') }));
}

export async function productView(context, sku) {
  if (sku === 'new') return newProductView(context);
  const product = await api.get(`/admin/products/${encodeURIComponent(sku)}`);
  const suggested = currenciesOf((await shopCatalog(product.merchant)).products);
  return [
    el('h1', {}, `${product.name} `, el('span', { class: `badge ${product.active ? 'status-paid' : 'status-cancelled'}` }, t(product.active ? 'catalog.active' : 'catalog.inactive'))),
    backLink(),
    flashNotice(context),
    el('dl', { class: 'facts' },
      el('dt', {}, t('catalog.sku')), el('dd', {}, el('code', {}, product.sku)),
      el('dt', {}, t('catalog.kind')), el('dd', {}, product.kind),
      product.event ? [el('dt', {}, t('catalog.event')), el('dd', {}, `${eventLabel(product.event)} · ${t('catalog.admits', { n: product.admissions })}`)] : null,
      el('dt', {}, t('catalog.price')), el('dd', {}, prices(product)),
      product.updated_at ? [el('dt', {}, t('catalog.updated')), el('dd', {}, `${dateTime(product.updated_at, context.timezone(product.merchant))} · ${actorName(product.updated_by, context.staff) || ''}`)] : null),
    el('div', { class: 'columns' },
      section(t('catalog.details'), detailsForm(context, product, suggested)),
      el('div', {}, section(t('catalog.sale'), saleForm(context, product)), stockSection(context, product))),
  ];
}
