// A person signed in who is staff of no business yet names theirs: POST /signup/merchant. The
// business is theirs at once; their token only says so once they sign in again (deployed, Cognito
// issues the new token; locally, a token from the local user pool's refresh).
import { el, languageSwitch } from './shared/dom.js';
import { LANGUAGES, rememberLanguage, setLanguage, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, checkbox, field, notice, select } from './ui.js';

// The kinds of business the platform's configuration lets sign up (the API refuses any other).
const KINDS = ['photography', 'trades'];

function slugOf(name) {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
}

export function signupPage(root, context, signOut) {
  const redraw = () => signupPage(root, context, signOut);
  document.title = `${t('signup.title')} · ${t('console.title')}`;
  const name = el('input', { name: 'name', required: true, maxlength: '120', autocomplete: 'organization' });
  const slug = el('input', { name: 'slug', required: true, maxlength: '40', pattern: '[a-z0-9-]+', autocapitalize: 'none', spellcheck: 'false' });
  name.addEventListener('input', () => { if (!slug.dataset.typed) slug.value = slugOf(name.value); });
  slug.addEventListener('input', () => { slug.dataset.typed = 'yes'; });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const form = actionForm(
    { class: 'signup', 'aria-label': t('signup.title') },
    [
      field(t('signup.name'), name),
      field(t('signup.slug'), slug, t('signup.slug_help')),
      field(t('signup.kind'), select('kind', KINDS.map((kind) => [kind, t(`signup.kind.${kind}`)]), 'trades')),
      field(t('signup.timezone'), el('input', { name: 'timezone', required: true, value: zone, maxlength: '64' }), t('signup.timezone_help')),
      el('fieldset', {}, el('legend', {}, t('signup.languages')), checkbox('en', 'English', true), ' ', checkbox('fr', 'Français', false)),
      field(t('signup.reply_to'), el('input', { name: 'reply_to', type: 'email', required: true, value: context.staff.email || '' }), t('signup.reply_to_help')),
      field(t('signup.staff_email'), el('input', { name: 'staff_email', type: 'email', required: true, value: context.staff.email || '' }), t('signup.staff_email_help')),
      el('button', { type: 'submit', class: 'primary' }, t('signup.create')),
    ],
    async (sent) => {
      const languages = ['en', 'fr'].filter((code) => sent.elements[code].checked);
      try {
        return await api.post('/signup/merchant', {
          name: sent.elements.name.value.trim(),
          slug: sent.elements.slug.value.trim(),
          kind: sent.elements.kind.value,
          timezone: sent.elements.timezone.value.trim(),
          languages,
          reply_to: sent.elements.reply_to.value.trim(),
          staff_email: sent.elements.staff_email.value.trim(),
        });
      } catch (error) {
        if (error.body && error.body.error === 'slug_taken') {
          slug.value = error.body.suggestion;
          slug.dataset.typed = 'yes';
          throw new api.ApiError(409, { message: t('signup.slug_taken', { suggestion: error.body.suggestion }) });
        }
        throw error;
      }
    },
    (created) => {
      root.querySelector('main').replaceChildren(
        el('h1', {}, t('signup.done_title', { name: created.name })),
        notice(t('signup.done', { prefix: created.order_prefix }), 'ok'),
        el('button', { type: 'button', class: 'primary', onclick: signOut }, t('signup.sign_in_again')),
      );
    },
  );
  root.replaceChildren(
    el('div', { class: 'brand-row' },
      languageSwitch(LANGUAGES, document.documentElement.lang, t('language'), (chosen) => {
        rememberLanguage(chosen);
        setLanguage(chosen);
        redraw();
      }),
      el('button', { type: 'button', class: 'link', onclick: signOut }, t('signout'))),
    el('main', { class: 'signin-page', id: 'main' },
      el('h1', {}, t('signup.title')),
      el('p', {}, t('signup.intro')),
      form),
  );
}
