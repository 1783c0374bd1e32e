// The shop's products with their prices and stock; one product's page to change its name, text,
// prices and per-order limit, take it off sale or put it back, and adjust its stock with the
// history of every adjustment, and the questions a customer answers when ordering it (a song's
// brief); and a form for a new product. Prices are typed in the currency's own units ("12.50",
// "5000" for XAF) and sent as integers in its minor unit.
import { el } from './shared/dom.js';
import { dateTime, day, language, money, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, actorName, checkbox, field, flashNotice, majorUnits, minorUnits, notice, section, select, table } from './ui.js';

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

// Questions at checkout: what a customer answers when ordering the product (a song's brief), shown
// to staff in their language and changed in a form, never as JSON. A question's key (`name`, under
// which each order files its answer) is made from its English words when it is added and kept
// after that, as is each choice's: renaming would orphan the answers orders already hold. The
// whole list is saved at once; the API checks it and its 422 is told next to the form.
const QUESTION_TYPES = ['text', 'long_text', 'choice', 'date', 'number', 'boolean'];
const MAX_QUESTIONS = 30;
const MAX_CHOICES = 50;
const TEXT_LENGTH = { text: 200, long_text: 5000 }; // what a new question offers; staff change it

// Words in the console's language, else English: a question's label, help or a choice's label.
function said(words) {
  return (words && (words[language()] || words.en)) || '';
}

function choiceLabel(question, choice) {
  const labels = question.choice_labels || {};
  return (labels[language()] || {})[choice] || (labels.en || {})[choice] || choice;
}

// A key from words staff typed: "Ça commence ?" → "ca_commence"; at most `max` characters.
function keyFrom(text, max) {
  return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '_').replace(/^_+/, '').slice(0, max).replace(/_+$/, '');
}

// `base`, or base_2, base_3… when another question (or choice) has it.
function unusedKey(base, taken, max) {
  let key = base;
  for (let n = 2; taken.has(key); n += 1) key = `${base.slice(0, max - String(n).length - 1).replace(/_+$/, '')}_${n}`;
  return key;
}

// A new question's key: a-z, 0-9 and _, starting with a letter, at most 40 characters.
function questionKey(label, taken) {
  const base = keyFrom(label, 40);
  if (!base) return unusedKey('question', taken, 40);
  return unusedKey(/^[a-z]/.test(base) ? base : keyFrom(`q_${base}`, 40), taken, 40);
}

function choiceKey(label, taken) {
  return unusedKey(keyFrom(label, 60) || 'choice', taken, 60);
}

function given(value) {
  return value !== undefined && value !== null && value !== '';
}

// "Choice from a list · required", "Short text · optional · up to 120 characters"…
function questionFacts(question) {
  const facts = [t(`questions.type.${question.type}`), t(question.required ? 'questions.is_required' : 'questions.is_optional')];
  if (question.max_length) facts.push(t('questions.up_to', { n: question.max_length }));
  if (given(question.min) && given(question.max)) facts.push(t('questions.between', { min: question.min, max: question.max }));
  else if (given(question.min)) facts.push(t('questions.at_least', { min: question.min }));
  else if (given(question.max)) facts.push(t('questions.at_most', { max: question.max }));
  if (question.future) facts.push(t('questions.today_or_later'));
  return facts.join(' · ');
}

function questionsList(questions) {
  if (!questions || !questions.length) return el('p', {}, t('questions.none'));
  return el('ol', { class: 'questions' }, questions.map((question) => el('li', {},
    el('strong', {}, said(question.label)),
    el('div', { class: 'muted' }, questionFacts(question)),
    question.choices ? el('div', {}, t('questions.choices_are', { list: question.choices.map((c) => choiceLabel(question, c)).join(', ') })) : null,
    question.help ? el('div', { class: 'muted help' }, said(question.help)) : null)));
}

// Items staff put in order (the questions, a question's choices): moved up or down and removed
// with buttons, the focus kept on the button pressed (or, once it is gone, on the item next to it)
// so that the keyboard does not lose its place. `changed` renumbers after each change.
function orderedItems(container, changed, focusWhenEmpty) {
  const items = [];
  return {
    items,
    changed,
    add(item) {
      items.push(item);
      container.append(item.node);
      changed();
    },
    move(item, by, button) {
      const from = items.indexOf(item);
      const to = from + by;
      if (to < 0 || to >= items.length) return;
      items.splice(from, 1);
      items.splice(to, 0, item);
      container.replaceChildren(...items.map((i) => i.node));
      changed();
      (button.hidden ? item.otherMove(button) : button).focus();
    },
    remove(item) {
      const at = items.indexOf(item);
      items.splice(at, 1);
      item.node.remove();
      changed();
      const next = items[at] || items[at - 1];
      if (next) next.focus();
      else focusWhenEmpty().focus();
    },
  };
}

// The up, down and remove buttons of an item; the up one hidden on the first item, the down one on
// the last.
function moveButtons(list, item, words) {
  const up = el('button', { type: 'button', onclick: () => list.move(item, -1, up) }, t(`${words}up`));
  const down = el('button', { type: 'button', onclick: () => list.move(item, 1, down) }, t(`${words}down`));
  const remove = el('button', { type: 'button', class: 'remove', onclick: () => list.remove(item) }, t(`${words}remove`));
  return {
    node: el('div', { class: 'buttons' }, up, down, remove),
    otherMove: (button) => (button === up ? down : up),
    place(index, count) {
      up.hidden = index === 0;
      down.hidden = index === count - 1;
    },
  };
}

function textInput(value, maxlength, changed) {
  return el('input', { autocomplete: 'off', maxlength: String(maxlength), value: value || '', oninput: changed });
}

function choiceEditor(choice, list) {
  const item = { kept: Boolean(choice.value), value: choice.value || '' };
  const legend = el('legend', {});
  const en = textInput(choice.en, 300, () => list.changed());
  const fr = textInput(choice.fr, 300, () => list.changed());
  const key = el('small', { class: 'key' });
  const buttons = moveButtons(list, item, 'questions.choice_');
  item.node = el('li', {}, el('fieldset', { class: 'choice' }, legend,
    el('div', { class: 'pair' }, field(t('questions.in_english'), en), field(t('questions.in_french'), fr)),
    el('div', { class: 'item-foot' }, key, buttons.node)));
  item.en = en;
  item.fr = fr;
  item.focus = () => en.focus();
  item.otherMove = buttons.otherMove;
  item.blank = () => !en.value.trim() && !fr.value.trim();
  item.place = (index, count, taken) => {
    if (!item.kept) item.value = choiceKey(en.value, taken);
    legend.textContent = t('questions.choice_n', { n: index + 1 });
    key.textContent = t('questions.choice_key', { key: item.value });
    buttons.place(index, count);
  };
  return item;
}

// A choice question's answers, each in English and French, in order.
function choicesEditor(question) {
  const container = el('ol', { class: 'choice-rows' });
  const none = el('p', { class: 'muted' }, t('questions.no_choices'));
  const add = el('button', { type: 'button', onclick: () => { list.add(choiceEditor({}, list)); list.items[list.items.length - 1].focus(); } }, t('questions.add_choice'));
  const list = orderedItems(container, () => {
    const taken = new Set(list.items.filter((i) => i.kept).map((i) => i.value));
    list.items.forEach((item, index) => {
      item.place(index, list.items.length, taken);
      taken.add(item.value);
    });
    none.hidden = list.items.length > 0;
    add.hidden = list.items.length >= MAX_CHOICES;
  }, () => add);
  for (const choice of question.choices || []) {
    const labels = question.choice_labels || {};
    list.add(choiceEditor({ value: choice, en: (labels.en || {})[choice], fr: (labels.fr || {})[choice] }, list));
  }
  return {
    node: el('fieldset', { class: 'choices' }, el('legend', {}, t('questions.choices')), none, container, el('div', { class: 'buttons' }, add)),
    items: list.items,
    // The choices and their labels as the API takes them; rows left empty are not choices.
    read() {
      const filled = list.items.filter((item) => !item.blank());
      const labels = (locale) => Object.fromEntries(filled.map((item) => [item.value, item[locale].value.trim()]));
      return { choices: filled.map((item) => item.value), choice_labels: { en: labels('en'), fr: labels('fr') } };
    },
  };
}

function numberInput(value) {
  return el('input', { type: 'number', step: '1', inputmode: 'numeric', class: 'short', value: given(value) ? String(value) : '' });
}

function questionEditor(question, list) {
  const item = { kept: Boolean(question.name), name: question.name || '' };
  const legend = el('legend', {});
  const labelEn = textInput(question.label?.en, 300, () => list.changed());
  const labelFr = textInput(question.label?.fr, 300, () => list.changed());
  const helpEn = el('textarea', { rows: '2', maxlength: '1000' }, question.help?.en || '');
  const helpFr = el('textarea', { rows: '2', maxlength: '1000' }, question.help?.fr || '');
  const type = select('type', QUESTION_TYPES.map((kind) => [kind, t(`questions.type.${kind}`)]), question.type);
  const required = checkbox('required', t('questions.required'), question.required);
  const maxLength = numberInput(question.max_length || TEXT_LENGTH[question.type] || TEXT_LENGTH.text);
  maxLength.min = '1';
  maxLength.max = '10000';
  const length = field(t('questions.max_length'), maxLength, t('questions.max_length_help'));
  const choices = choicesEditor(question);
  const min = numberInput(question.min);
  const max = numberInput(question.max);
  const range = el('div', { class: 'inline-fields' }, field(t('questions.min'), min), field(t('questions.max'), max));
  const future = checkbox('future', t('questions.future'), question.future);
  const key = el('small', { class: 'key' });
  const buttons = moveButtons(list, item, 'questions.');
  let shown = question.type;
  const showType = () => {
    // A length left as offered follows the type: a long text is offered more room.
    if (maxLength.value === String(TEXT_LENGTH[shown]) && TEXT_LENGTH[type.value]) maxLength.value = String(TEXT_LENGTH[type.value]);
    shown = type.value;
    length.hidden = !(shown in TEXT_LENGTH);
    choices.node.hidden = shown !== 'choice';
    range.hidden = shown !== 'number';
    future.hidden = shown !== 'date';
  };
  type.addEventListener('change', showType);
  showType();
  item.node = el('fieldset', { class: 'question' }, legend,
    el('div', { class: 'pair' }, field(t('questions.label_en'), labelEn), field(t('questions.label_fr'), labelFr)),
    el('div', { class: 'pair' }, field(t('questions.help_en'), helpEn), field(t('questions.help_fr'), helpFr)),
    el('div', { class: 'inline-fields' }, field(t('questions.type'), type), required),
    length, choices.node, range, future,
    el('div', { class: 'item-foot' }, key, buttons.node));
  item.focus = () => labelEn.focus();
  item.otherMove = buttons.otherMove;
  item.title = () => legend.textContent;
  item.place = (index, count, taken) => {
    if (!item.kept) item.name = questionKey(labelEn.value, taken);
    const label = said({ en: labelEn.value.trim(), fr: labelFr.value.trim() });
    legend.textContent = label ? t('questions.legend', { n: index + 1, label }) : t('questions.legend_new', { n: index + 1 });
    key.textContent = t(item.kept ? 'questions.key_kept' : 'questions.key_new', { key: item.name });
    buttons.place(index, count);
  };
  // The control a part of the API's error names ("label.en", "choice_labels.fr.joyful"…) and what
  // the form calls it.
  item.part = (path) => {
    const [head, locale, rest] = path.split('.');
    const pairs = { label: [labelEn, labelFr, 'questions.label_'], help: [helpEn, helpFr, 'questions.help_'] };
    if (pairs[head] && (locale === 'en' || locale === 'fr')) return [pairs[head][locale === 'en' ? 0 : 1], t(`${pairs[head][2]}${locale}`)];
    if (head === 'max_length') return [maxLength, t('questions.max_length')];
    if (head === 'min' || head === 'max') return [head === 'min' ? min : max, t(`questions.${head}`)];
    if (head === 'choices' && locale === undefined) return [null, t('questions.choices')];
    const filled = choices.items.filter((c) => !c.blank());
    const choice = head === 'choices' ? filled[Number(locale)] : filled.find((c) => c.value === rest);
    if (!choice) return [null, path];
    const words = t('questions.choice_n', { n: choices.items.indexOf(choice) + 1 });
    if (head === 'choice_labels' && locale === 'fr') return [choice.fr, `${words}, ${t('questions.in_french')}`];
    if (head === 'choice_labels') return [choice.en, `${words}, ${t('questions.in_english')}`];
    return [choice.en, words];
  };
  item.read = () => {
    const words = (en, fr) => Object.fromEntries([['en', en.value.trim()], ['fr', fr.value.trim()]].filter(([, text]) => text));
    const asked = { name: item.name, type: type.value, required: required.querySelector('input').checked, label: { en: labelEn.value.trim(), fr: labelFr.value.trim() } };
    const help = words(helpEn, helpFr);
    if (Object.keys(help).length) asked.help = help;
    const number = (input) => (input.value.trim() === '' ? undefined : Number(input.value));
    if (asked.type in TEXT_LENGTH) asked.max_length = number(maxLength);
    if (asked.type === 'choice') Object.assign(asked, choices.read());
    if (asked.type === 'number') Object.assign(asked, { min: number(min), max: number(max) });
    if (asked.type === 'date' && future.querySelector('input').checked) asked.future = true;
    return asked;
  };
  return item;
}

// The questions being changed, with a type picker and a button to add one; `read()` gives the
// list to send, `explain(error)` turns the API's 422 into words naming the question and field (and
// marks the field), leaving any other error as it is.
function questionsEditor(questions) {
  const container = el('div', { class: 'question-list' });
  const none = el('p', { class: 'muted' }, t('questions.none'));
  const kind = select('new_question_type', QUESTION_TYPES.map((type) => [type, t(`questions.type.${type}`)]), 'text');
  const add = el('button', {
    type: 'button',
    onclick: () => {
      list.add(questionEditor({ type: kind.value }, list));
      list.items[list.items.length - 1].focus();
    },
  }, t('questions.add'));
  const adder = el('div', { class: 'inline-fields add-question' }, field(t('questions.new_type'), kind), add);
  const list = orderedItems(container, () => {
    const taken = new Set(list.items.filter((i) => i.kept).map((i) => i.name));
    list.items.forEach((item, index) => {
      item.place(index, list.items.length, taken);
      taken.add(item.name);
    });
    none.hidden = list.items.length > 0;
    adder.hidden = list.items.length >= MAX_QUESTIONS;
  }, () => add);
  for (const question of questions || []) list.add(questionEditor(question, list));
  let sent = [];
  return {
    node: el('div', { class: 'questions-editor' }, none, container, adder),
    read() {
      sent = [...list.items];
      container.querySelectorAll('[aria-invalid]').forEach((control) => control.removeAttribute('aria-invalid'));
      return sent.map((item) => item.read());
    },
    explain(error) {
      if (!(error instanceof api.ApiError) || error.status !== 422) return error;
      const details = error.body.details || [];
      if (!details.some((d) => /^questionnaire\.\d+/.test(d.field || ''))) return error;
      const lines = details.map(({ field: where = '', message }) => {
        const found = /^questionnaire\.(\d+)(?:\.(.+))?$/.exec(where);
        const item = found && sent[Number(found[1])];
        if (!item) return `${where}: ${message}`;
        const [control, part] = found[2] ? item.part(found[2]) : [null, ''];
        if (control) control.setAttribute('aria-invalid', 'true');
        return `${item.title()}${part ? ` (${part})` : ''}: ${message}`;
      });
      return new Error(lines.join(' · '));
    },
  };
}

// The product's questions, and (opened) the form changing them; after a save, both drawn again
// from the API's answer with a message that says so, and `changed(product)` told.
function questionsSection(context, product, changed) {
  const panel = el('section', { class: 'panel', 'aria-labelledby': 'questions-title' });
  const draw = (current, saved) => {
    const editor = questionsEditor(current.questionnaire);
    const form = actionForm(
      { class: 'action', 'aria-label': t('questions.change') },
      [
        editor.node,
        el('p', { class: 'muted' }, t('questions.what_changes')),
        el('button', { type: 'submit', class: 'primary' }, t('questions.save')),
      ],
      async () => {
        const questionnaire = editor.read();
        try {
          return await api.patch(`/admin/products/${encodeURIComponent(current.sku)}`, { questionnaire });
        } catch (error) {
          throw editor.explain(error);
        }
      },
      (answer) => {
        // The orders' pages word an answer by its question: a new one is known from now on.
        for (const question of answer.questionnaire || []) if (!context.questions.has(question.name)) context.questions.set(question.name, question);
        changed(answer);
        draw(answer, true);
      },
    );
    const done = saved ? el('p', { class: 'notice ok', role: 'status', tabindex: '-1' }, t('questions.saved')) : null;
    panel.replaceChildren(...[
      el('h2', { id: 'questions-title' }, t('questions.title')),
      done,
      el('p', {}, t('questions.intro')),
      questionsList(current.questionnaire),
      el('details', { class: 'change-questions', open: saved ? true : null },
        el('summary', {}, t(current.questionnaire && current.questionnaire.length ? 'questions.change' : 'questions.add_first')),
        form),
    ].filter(Boolean));
    if (done) done.focus();
  };
  draw(product, false);
  return panel;
}

function backLink() {
  return el('p', {}, el('a', { href: '#/catalog' }, t('catalog.back')));
}

async function newProductView(context) {
  if (!context.merchant) return [el('h1', {}, t('catalog.new')), notice(t('bookings.pick_merchant'))];
  const { products, events } = await shopCatalog(context.merchant);
  const kinds = [...new Set(products.map((p) => p.kind))].sort();
  const currencies = currenciesOf(products);
  const questions = questionsEditor([]);
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
      el('details', { class: 'change-questions' },
        el('summary', {}, t('questions.title')),
        el('p', {}, t('questions.intro')),
        questions.node),
      el('button', { type: 'submit', class: 'primary' }, t('catalog.create')),
    ],
    async (sent) => {
      const value = (name) => (sent.elements[name] ? sent.elements[name].value.trim() : '');
      const event = value('event');
      const admissions = Number(value('admissions') || 1);
      if (event && (!Number.isInteger(admissions) || admissions < 1 || admissions > 20)) throw new Error(t('catalog.bad_admissions'));
      if (!value('name') || !(value('kind') || event)) throw new Error(t('catalog.fill_in'));
      if (!/^[A-Za-z0-9._-]+$/.test(value('sku'))) throw new Error(t('catalog.bad_sku'));
      const stock = value('stock');
      if (stock && !/^\d+$/.test(stock)) throw new Error(t('catalog.bad_stock'));
      const questionnaire = questions.read();
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
        ...(questionnaire.length ? { questionnaire } : {}),
      }).catch((error) => { throw questions.explain(error); });
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
  const facts = (shown) => el('dl', { class: 'facts' },
    el('dt', {}, t('catalog.sku')), el('dd', {}, el('code', {}, shown.sku)),
    el('dt', {}, t('catalog.kind')), el('dd', {}, shown.kind),
    shown.event ? [el('dt', {}, t('catalog.event')), el('dd', {}, `${eventLabel(shown.event)} · ${t('catalog.admits', { n: shown.admissions })}`)] : null,
    el('dt', {}, t('catalog.price')), el('dd', {}, prices(shown)),
    shown.updated_at ? [el('dt', {}, t('catalog.updated')), el('dd', {}, `${dateTime(shown.updated_at, context.timezone(shown.merchant))} · ${actorName(shown.updated_by, context.staff) || ''}`)] : null);
  let shownFacts = facts(product);
  const refreshFacts = (changed) => { // the questions saved: when it last changed, and by whom
    const fresh = facts(changed);
    shownFacts.replaceWith(fresh);
    shownFacts = fresh;
  };
  return [
    el('h1', {}, `${product.name} `, el('span', { class: `badge ${product.active ? 'status-paid' : 'status-cancelled'}` }, t(product.active ? 'catalog.active' : 'catalog.inactive'))),
    backLink(),
    flashNotice(context),
    shownFacts,
    el('div', { class: 'columns' },
      section(t('catalog.details'), detailsForm(context, product, suggested)),
      el('div', {}, section(t('catalog.sale'), saleForm(context, product)), stockSection(context, product))),
    questionsSection(context, product, refreshFacts),
  ];
}
