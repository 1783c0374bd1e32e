// The shop's own settings: business details, languages and time zone, the new-order email, the
// refund policy within the platform's bounds, gallery defaults for photographers; its hours and
// services as they are; and the list of every change, who made it and when (in the shop's zone).
// Each section sends only its own fields (PATCH .../settings); a refusal is shown at the field.
import { el } from './shared/dom.js';
import { LANGUAGES, dateTime, money, statusName, t } from './shared/i18n.js';
import * as api from './api.js';
import { ApiError } from './api.js';
import { actionForm, actorName, checkbox, field, majorUnits, minorUnits, notice, section, select, table } from './ui.js';

const PAGE = 10;
const CODES = Object.keys(LANGUAGES); // en, fr: what emails, pages and this console are written in

function path(merchant, tail = 'settings') {
  return `/admin/merchants/${encodeURIComponent(merchant)}/${tail}`;
}

// The API names the field it refused (`field`, or `details[].field` for a 422): mark that input.
function markRefused(form, error) {
  form.querySelectorAll('[aria-invalid]').forEach((input) => input.removeAttribute('aria-invalid'));
  if (!(error instanceof ApiError)) return;
  const names = [error.body.field, ...(error.body.details || []).map((d) => d.field)].filter(Boolean);
  for (const name of names) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`) || form.querySelector(`[name="${CSS.escape(name.split('.')[0])}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  }
}

// A section's form: `values(form)` gives the fields to send; the page reloads with the answer.
function settingsForm(context, title, controls, values) {
  const form = actionForm(
    { class: 'settings', 'aria-label': title },
    [...controls, el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, t('settings.save')))],
    async (sent) => {
      try {
        return await api.patch(path(context.merchant), values(sent));
      } catch (error) {
        markRefused(sent, error);
        throw error;
      }
    },
    (answer) => {
      context.merchants.set(context.merchant, answer);
      return context.refresh();
    },
  );
  return section(title, form);
}

function text(name, value, attributes = {}) {
  return el('input', { name, value: value || '', autocomplete: 'off', ...attributes });
}

function business(context, settings) {
  return settingsForm(context, t('settings.business'), [
    field(t('settings.name'), text('name', settings.name, { required: true, maxlength: '120' })),
    field(t('settings.reply_to'), text('reply_to', settings.reply_to, { type: 'email' }), t('settings.reply_to_help')),
    field(t('settings.staff_email'), text('staff_email', settings.staff_email, { type: 'email' }), t('settings.staff_email_help')),
  ], (form) => {
    const sent = { name: form.elements.name.value.trim() };
    for (const name of ['reply_to', 'staff_email']) {
      const value = form.elements[name].value.trim();
      if (value) sent[name] = value; // an address is changed, never emptied
    }
    return sent;
  });
}

function languages(context, settings) {
  const spoken = el('fieldset', { class: 'choices' },
    el('legend', {}, t('settings.languages')),
    CODES.map((code) => checkbox(`language-${code}`, t(`settings.language.${code}`), settings.languages.includes(code))));
  return settingsForm(context, t('settings.languages_and_zone'), [
    spoken,
    field(t('settings.default_locale'), select('default_locale', CODES.map((code) => [code, t(`settings.language.${code}`)]), settings.default_locale)),
    field(t('settings.timezone'), text('timezone', settings.timezone, { required: true, list: 'time-zones' }), t('settings.timezone_help')),
    el('datalist', { id: 'time-zones' }, Intl.supportedValuesOf('timeZone').map((zone) => el('option', { value: zone }))),
  ], (form) => ({
    languages: CODES.filter((code) => form.elements[`language-${code}`].checked),
    default_locale: form.elements.default_locale.value,
    timezone: form.elements.timezone.value.trim(),
  }));
}

function notifications(context, settings) {
  return settingsForm(context, t('settings.notifications'), [
    checkbox('new_order_email', t('settings.new_order_email', { to: settings.staff_email || '' }), settings.new_order_email),
  ], (form) => ({ new_order_email: form.elements.new_order_email.checked }));
}

function refunds(context, settings) {
  const bounds = settings.refund_bounds;
  const stageLabel = (stage) => (stage === bounds.before_work_stage ? t('settings.stage_before_work') : statusName(stage));
  const inputs = settings.refund_stages.map((stage) => field(
    `${stageLabel(stage)} (%)`,
    el('input', {
      name: `refund_policy.${stage}`, type: 'number', inputmode: 'numeric', min: '0', max: String(bounds.refund_percent_max), step: '1',
      value: settings.refund_policy[stage] ?? '',
    }),
    stage === bounds.before_work_stage ? t('settings.refund_min', { percent: bounds.refund_percent_min_before_work }) : null,
  ));
  return settingsForm(context, t('settings.refund_policy'), [
    el('p', { class: 'muted' }, t('settings.refund_bounds', { max: bounds.refund_percent_max, min: bounds.refund_percent_min_before_work })),
    ...inputs,
  ], (form) => {
    const policy = {};
    for (const stage of settings.refund_stages) {
      const value = form.elements[`refund_policy.${stage}`].value.trim();
      if (value !== '') policy[stage] = Number(value);
    }
    return { refund_policy: policy };
  });
}

function galleries(context, settings) {
  const mark = settings.watermark || {};
  const defaults = settings.gallery_defaults;
  return settingsForm(context, t('settings.gallery_defaults'), [
    field(t('settings.watermark_text'), text('watermark.text', mark.text, { maxlength: '80' }), t('settings.watermark_text_help')),
    field(t('settings.watermark_opacity'), el('input', { name: 'watermark.opacity', type: 'number', min: '0.05', max: '1', step: '0.05', value: mark.opacity ?? '' })),
    field(t('settings.gallery_days'), el('input', { name: 'gallery_defaults.expiry_days', type: 'number', inputmode: 'numeric', min: '1', max: '365', step: '1', value: defaults.expiry_days })),
    checkbox('gallery_defaults.downloads', t('settings.gallery_downloads'), defaults.downloads),
  ], (form) => {
    const opacity = form.elements['watermark.opacity'].value.trim();
    const days = form.elements['gallery_defaults.expiry_days'].value.trim();
    return {
      watermark: { text: form.elements['watermark.text'].value.trim(), ...(opacity ? { opacity: Number(opacity) } : {}) },
      gallery_defaults: { downloads: form.elements['gallery_defaults.downloads'].checked, ...(days ? { expiry_days: Number(days) } : {}) },
    };
  });
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

// "08:00-12:00, 13:00-17:00" ⇄ [["08:00", "12:00"], ["13:00", "17:00"]]; empty: closed.
function spansText(spans) {
  return (spans || []).map(([from, to]) => `${from}-${to}`).join(', ');
}

function spansOf(text, day) {
  const spans = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const found = part.match(/^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/);
    if (!found) throw new Error(t('settings.hours_format', { day: t(`settings.day.${day}`), text: part }));
    spans.push([found[1].padStart(5, '0'), found[2].padStart(5, '0')]);
  }
  return spans;
}

// Working hours, one line a day, and dates off: PUT .../hours (the time zone is the shop's, above).
function hours(context, settings) {
  const current = settings.hours || { weekly: {}, blocked_dates: [] };
  const form = actionForm(
    { class: 'settings', 'aria-label': t('settings.hours') },
    [
      el('p', { class: 'muted' }, t('settings.hours_help', { zone: settings.timezone })),
      ...WEEKDAYS.map((day) => field(t(`settings.day.${day}`), text(`hours.${day}`, spansText(current.weekly[day]), { placeholder: t('settings.closed') }))),
      field(t('settings.blocked_dates'), el('textarea', { name: 'blocked_dates', rows: '2' }, (current.blocked_dates || []).join(', ')), t('settings.blocked_dates_help')),
      el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, t('settings.save'))),
    ],
    (sent) => {
      const weekly = {};
      for (const day of WEEKDAYS) {
        const spans = spansOf(sent.elements[`hours.${day}`].value, day);
        if (spans.length) weekly[day] = spans;
      }
      const blocked = sent.elements.blocked_dates.value.split(/[\s,]+/).filter(Boolean);
      return api.put(path(context.merchant, 'hours'), { weekly, blocked_dates: blocked, slot_minutes: current.slot_minutes });
    },
    () => context.refresh(),
  );
  return section(t('settings.hours'), form);
}

// The services customers book (session types for a photographer): change one, or add one.
function services(context, settings) {
  const list = settings.services || [];
  const currency = list[0]?.full_price.currency || settings.currency || 'USD';
  const form = actionForm(
    { class: 'settings', 'aria-label': t('settings.service_form') },
    [
      field(t('settings.service_id'), text('service_id', '', { required: true, pattern: '[a-z0-9-]+', maxlength: '64' }), t('settings.service_id_help')),
      field(t('settings.service_name'), text('service_name', '', { required: true, maxlength: '120' })),
      field(t('settings.duration'), el('input', { name: 'duration_minutes', type: 'number', min: '15', step: '15', value: '60' })),
      field(t('settings.full_price', { currency }), text('full_price', '', { inputmode: 'decimal', required: true })),
      field(t('settings.deposit_percent'), el('input', { name: 'deposit_percent', type: 'number', min: '0', max: '100', step: '1', value: '20' })),
      el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, t('settings.save'))),
    ],
    (sent) => {
      const value = (name) => sent.elements[name].value.trim();
      const price = minorUnits(value('full_price'), currency);
      if (price === null) throw new Error(t('settings.price_format', { currency }));
      return api.put(path(context.merchant, `services/${encodeURIComponent(value('service_id'))}`), {
        name: value('service_name'),
        duration_minutes: Number(value('duration_minutes')),
        currency,
        full_price: price,
        deposit: { percent: Number(value('deposit_percent')) },
      });
    },
    () => context.refresh(),
  );
  const fill = (service) => {
    form.elements.service_id.value = service.service_id;
    form.elements.service_name.value = service.name;
    form.elements.duration_minutes.value = service.duration_minutes;
    form.elements.full_price.value = majorUnits(service.full_price.amount, service.full_price.currency);
    if (service.deposit.percent !== undefined) form.elements.deposit_percent.value = service.deposit.percent;
    form.elements.service_name.focus();
  };
  return section(t('settings.services'),
    list.length ? table([
      { label: t('settings.service_name'), cell: (s) => s.name },
      { label: t('settings.duration'), cell: (s) => t('settings.minutes', { n: s.duration_minutes }) },
      { label: t('settings.price'), cell: (s) => money(s.full_price) },
      { label: t('settings.active'), cell: (s) => (s.active ? t('settings.yes') : t('settings.no')) },
      { label: '', cell: (s) => el('button', { type: 'button', class: 'link', onclick: () => fill(s) }, t('settings.edit_service', { name: s.name })) },
    ], list, { caption: t('settings.services') }) : null,
    form);
}

// A value as people read it: money as money, opening hours as spans, a list joined.
function shown(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.every(Array.isArray) ? spansText(value) : value.join(', ');
  if (typeof value === 'object') {
    if ('amount' in value && 'currency' in value) return money(value);
    return Object.entries(value).map(([key, part]) => `${key} ${shown(part)}`).join(', ');
  }
  return String(value);
}

function isMap(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// What a change did: for hours, a service, a policy (maps), only the parts that differ.
function differences(old, now) {
  if (!isMap(old) || !isMap(now)) return [[null, old, now]];
  return [...new Set([...Object.keys(old), ...Object.keys(now)])]
    .filter((key) => JSON.stringify(old[key]) !== JSON.stringify(now[key]))
    .map((key) => [key, old[key], now[key]]);
}

function change(entry) {
  return el('ul', { class: 'changes' }, entry.fields.map((name) => {
    const [field, item] = name.split(':');
    const title = t(`settings.field.${field}`) + (item ? ` ${item}` : '');
    const parts = differences(entry.changes[name].old, entry.changes[name].new);
    return el('li', {}, el('strong', {}, title), ': ', parts.map(([key, old, now], index) => el('span', { class: 'difference' },
      index ? '; ' : '', key ? `${key} ` : '', el('span', { class: 'old' }, shown(old)), ' → ', el('span', { class: 'new' }, shown(now)))));
  }));
}

async function history(context, parameters) {
  const cursor = parameters.get('cursor');
  const found = await api.get(`${path(context.merchant, 'changes')}${api.query({ limit: PAGE, cursor })}`);
  const zone = context.timezone();
  return section(t('settings.history'),
    table([
      { label: t('settings.when'), cell: (c) => dateTime(c.at, zone) },
      { label: t('settings.who'), cell: (c) => actorName(c.by, context.staff) },
      { label: t('settings.what'), cell: change },
    ], found.changes, { caption: t('settings.history') }),
    el('div', { class: 'buttons' },
      cursor ? el('a', { class: 'button', href: '#/settings' }, t('console.first')) : null,
      found.next_cursor ? el('a', { class: 'button', href: `#/settings?${new URLSearchParams({ cursor: found.next_cursor })}` }, t('console.more')) : null));
}

export async function settingsView(context, parameters) {
  const heading = el('h1', {}, t('settings.title'));
  if (!context.merchant) return [heading, notice(t('settings.pick_merchant'))];
  const settings = await api.get(path(context.merchant));
  return [
    heading,
    business(context, settings),
    languages(context, settings),
    notifications(context, settings),
    refunds(context, settings),
    settings.galleries ? galleries(context, settings) : null,
    settings.bookings ? hours(context, settings) : null,
    settings.bookings ? services(context, settings) : null,
    await history(context, parameters),
  ];
}
