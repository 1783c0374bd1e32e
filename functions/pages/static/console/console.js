// The staff console: one page that signs staff in, then shows the shop's orders, work lists,
// catalog, bookings, galleries, figures and the door's check-in from the documented JSON API. Views are
// chosen by the address's fragment (#/orders, #/orders/<id>, #/galleries/<id>, #/work, ...), so the
// browser's back button works and a link to an order can be shared between staff.
import { el, languageSwitch } from './shared/dom.js';
import { LANGUAGES, addWords, rememberLanguage, setLanguage, startingLanguage, t } from './shared/i18n.js';
import { WORDS } from './words.js';
import * as auth from './auth.js';
import * as api from './api.js';
import { errorText, field, loading, notice } from './ui.js';
import { orderView, ordersView } from './orders.js';
import { workView } from './work.js';
import { catalogView, productView } from './catalog.js';
import { bookingsView } from './bookings.js';
import { figuresView } from './figures.js';
import { checkinView } from './checkin.js';
import { galleriesView, galleryView } from './galleries.js';
import { merchantsView } from './merchants.js';
import { accountForms, renewToken, signupPage } from './signup.js';
import { settingsView } from './settings.js';
import { billingView } from './billing.js';

addWords(WORDS);
setLanguage(startingLanguage());

const root = document.getElementById('console');
// Each section: its name in the address, its view, and the view of one of its items (#/<name>/<id>).
const SECTIONS = [
  ['orders', ordersView, orderView],
  ['work', workView],
  ['catalog', catalogView, productView],
  ['bookings', bookingsView],
  ['galleries', galleriesView, galleryView],
  ['figures', figuresView],
  ['check-in', checkinView],
  ['merchants', merchantsView],
  ['settings', settingsView],
  ['billing', billingView],
];

// What every view may ask: who is signed in, which shop is chosen, each shop's name and time zone.
const context = {
  config: null,
  staff: null,
  merchant: null,
  merchants: new Map(),
  questions: new Map(),
  timezone(merchant) {
    return this.merchants.get(merchant || this.merchant)?.timezone || 'UTC';
  },
  merchantName(merchant) {
    return this.merchants.get(merchant)?.name || merchant;
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  refresh: () => route(),
};

async function loadMerchants() {
  const staff = context.staff;
  // The public catalog names the shops (for platform staff) and words each brief question.
  const catalog = await fetch(`${api.API_ROOT}/catalog`, { headers: { Accept: 'application/json' } }).then((r) => r.json());
  for (const product of catalog.products) {
    for (const question of product.questionnaire || []) context.questions.set(question.name, question);
  }
  let ids = staff.merchant ? [staff.merchant] : [];
  if (staff.platform) ids = [...new Set([...catalog.products, ...catalog.services].map((offer) => offer.merchant))].sort();
  const settings = await Promise.all(ids.map((id) => api.get(`/admin/merchants/${encodeURIComponent(id)}`).catch(() => null)));
  ids.forEach((id, index) => context.merchants.set(id, settings[index] || { merchant: id, name: id, timezone: 'UTC' }));
  const remembered = sessionStorage.getItem('caisse-console-merchant');
  context.merchant = staff.merchant || (context.merchants.has(remembered) ? remembered : null);
}

// A merchant's staff reach their own payments set-up where platform staff list every merchant.
function navWord(name) {
  return name === 'merchants' && !context.staff.platform ? 'nav.payments' : `nav.${name}`;
}

function header(active) {
  const staff = context.staff;
  const merchantChoice = staff.platform
    ? field(
      t('console.merchant'),
      el(
        'select',
        {
          onchange: (event) => {
            context.merchant = event.target.value || null;
            sessionStorage.setItem('caisse-console-merchant', context.merchant || '');
            route();
          },
        },
        el('option', { value: '' }, t('console.all_merchants')),
        [...context.merchants.values()].map((m) => el('option', { value: m.merchant, selected: m.merchant === context.merchant ? 'selected' : null }, m.name)),
      ),
    )
    : el('p', { class: 'shop-name' }, context.merchantName(staff.merchant));
  return el(
    'header',
    { class: 'top' },
    el('div', { class: 'brand-row' },
      el('a', { class: 'brand', href: '#/orders' }, 'Caisse'),
      merchantChoice,
      languageSwitch(LANGUAGES, document.documentElement.lang, t('language'), (chosen) => {
        rememberLanguage(chosen);
        setLanguage(chosen);
        route();
      }),
      el('button', { type: 'button', class: 'link', onclick: () => auth.signOut(context.config) }, t('signout'))),
    el('nav', { class: 'sections', 'aria-label': t('console.menu') },
      SECTIONS.map(([name]) => el('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null }, t(navWord(name))))),
    el('p', { class: 'muted who' }, t('signed_in_as', { who: staff.email })),
  );
}

async function route() {
  if (!context.staff) return;
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'orders', id] = path.split('/').map(decodeURIComponent);
  const [, view, itemView] = SECTIONS.find(([section]) => section === name) || SECTIONS[0];
  const main = el('main', { id: 'main' }, loading());
  root.replaceChildren(header(name), main);
  document.title = `${t(navWord(name)) || ''} · ${t('console.title')}`;
  try {
    const parameters = new URLSearchParams(search);
    const nodes = id && itemView ? await itemView(context, id, parameters) : await view(context, parameters);
    main.replaceChildren(...[].concat(nodes).flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false));
  } catch (error) {
    if (!context.staff) return;
    main.replaceChildren(notice(errorText(error), 'error'), el('button', { type: 'button', onclick: route }, t('console.retry')));
  }
}

function signInPage(problem) {
  document.title = t('console.title');
  const config = context.config;
  const parts = [el('h1', {}, t('signin.title'))];
  if (problem) parts.push(notice(problem, 'error'));
  if (config.signIn === 'cognito') {
    parts.push(el('p', {}, t('signin.cognito_help')));
    parts.push(el('button', { type: 'button', class: 'primary', onclick: () => auth.startCognito(config) }, t('signin.button')));
  } else {
    const box = el('textarea', { name: 'token', rows: '4', autocomplete: 'off', spellcheck: 'false', required: true });
    const form = el('form', { class: 'signin' }, field(t('signin.token'), box, t('signin.token_help')), el('button', { type: 'submit', class: 'primary' }, t('signin.button')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (auth.useToken(box.value)) start();
      else signInPage(t('signin.bad_token'));
    });
    parts.push(form);
    if (config.userPool) parts.push(...accountForms(config, start));
  }
  root.replaceChildren(
    languageSwitch(LANGUAGES, document.documentElement.lang, t('language'), (chosen) => {
      rememberLanguage(chosen);
      setLanguage(chosen);
      signInPage(problem);
    }),
    el('main', { class: 'signin-page', id: 'main' }, ...parts),
  );
}

async function start() {
  context.staff = auth.staff();
  if (!context.staff) return signInPage();
  // Signed in, staff of no business yet: they name theirs first.
  if (!context.staff.merchant && !context.staff.platform) {
    return signupPage(root, context, () => auth.signOut(context.config), async () => {
      if (!(await renewToken(context.config))) auth.signOut(context.config);
      start();
    });
  }
  root.replaceChildren(loading());
  try {
    await loadMerchants();
  } catch (error) {
    if (!context.staff) return;
    return root.replaceChildren(notice(errorText(error), 'error'));
  }
  if (!location.hash) history.replaceState(null, '', '#/orders');
  route();
}

async function boot() {
  context.config = await fetch(new URL('../config.json', import.meta.url)).then((r) => r.json());
  auth.whenSignedOut(() => {
    context.staff = null;
    signInPage();
  });
  if (context.config.signIn === 'cognito') {
    try {
      await auth.finishCognito(context.config);
    } catch (error) {
      return signInPage(t('signin.failed', { message: error.message }));
    }
  }
  window.addEventListener('hashchange', route);
  start();
}

boot();
