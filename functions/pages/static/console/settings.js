// The shop's own settings: business details, languages and time zone, the new-order email, the
// refund policy within the platform's bounds, gallery defaults for photographers; its hours and
// services as they are; and the list of every change, who made it and when (in the shop's zone).
// Each section sends only its own fields (PATCH .../settings); a refusal is shown at the field.
import { el } from './shared/dom.js';
import { LANGUAGES, dateTime, statusName, t } from './shared/i18n.js';
import * as api from './api.js';
import { ApiError } from './api.js';
import { actionForm, checkbox, field, notice, section, select, table } from './ui.js';

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

function hoursAndServices(settings) {
  const hours = settings.hours || { weekly: {} };
  const open = WEEKDAYS.filter((d) => (hours.weekly[d] || []).length);
  if (!open.length && !(settings.services || []).length) return null;
  return section(t('settings.hours_and_services'),
    el('p', { class: 'muted' }, t('settings.hours_help')),
    table([
      { label: t('settings.weekday'), cell: (d) => t(`settings.day.${d}`) },
      { label: t('settings.open'), cell: (d) => hours.weekly[d].map(([from, to]) => `${from}–${to}`).join(', ') },
    ], open, { caption: t('settings.hours_and_services') }),
    (settings.services || []).length ? table([
      { label: t('bookings.service'), cell: (s) => s.name },
      { label: t('settings.duration'), cell: (s) => t('settings.minutes', { n: s.duration_minutes }) },
      { label: t('settings.active'), cell: (s) => (s.active ? t('settings.yes') : t('settings.no')) },
    ], settings.services) : null);
}

function change(entry) {
  const shown = (value) => (value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  return el('ul', { class: 'changes' }, entry.fields.map((name) => el('li', {},
    el('strong', {}, t(`settings.field.${name.split(':')[0]}`) + (name.includes(':') ? ` ${name.split(':')[1]}` : '')), ': ',
    el('span', { class: 'old' }, shown(entry.changes[name].old)), ' → ',
    el('span', { class: 'new' }, shown(entry.changes[name].new)))));
}

async function history(context, parameters) {
  const cursor = parameters.get('cursor');
  const found = await api.get(`${path(context.merchant, 'changes')}${api.query({ limit: PAGE, cursor })}`);
  const zone = context.timezone();
  return section(t('settings.history'),
    table([
      { label: t('settings.when'), cell: (c) => dateTime(c.at, zone) },
      { label: t('settings.who'), cell: (c) => c.by },
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
    hoursAndServices(settings),
    await history(context, parameters),
  ];
}
