// Locally, the console also signs people up and in against the local stack's user pool (Cognito's
// JSON API, served by caisse_local.cognito); deployed, Cognito's hosted pages do it.
const REFRESH = 'caisse-console-refresh';

async function userPool(config, operation, body) {
  const answer = await fetch(config.userPool.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityProviderService.${operation}` },
    body: JSON.stringify({ ClientId: config.userPool.clientId, ...body }),
  });
  const found = await answer.json();
  if (!answer.ok) throw new api.ApiError(answer.status, { error: found.__type, message: found.message });
  return found;
}

function keep(result) {
  if (result.RefreshToken) sessionStorage.setItem(REFRESH, result.RefreshToken);
  return useToken(result.IdToken);
}

async function signInWithPassword(config, email, password) {
  const answer = await userPool(config, 'InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD: password } });
  return keep(answer.AuthenticationResult);
}

// The token again after the business was named (it now carries the merchant); false if it cannot.
export async function renewToken(config) {
  const refresh = sessionStorage.getItem(REFRESH);
  if (!config.userPool || !refresh) return false;
  const answer = await userPool(config, 'InitiateAuth', { AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: refresh } });
  return keep(answer.AuthenticationResult);
}

// "Create an account" (email, password, then the code emailed) and "Sign in with your email".
export function accountForms(config, signedIn) {
  const email = () => el('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = (autocomplete) => el('input', { name: 'password', type: 'password', required: true, minlength: '12', autocomplete });
  const create = actionForm(
    { 'aria-label': t('account.create') },
    [
      field(t('account.email'), email()),
      field(t('account.password'), password('new-password'), t('account.password_help')),
      el('button', { type: 'submit' }, t('account.create')),
    ],
    async (form) => {
      await userPool(config, 'SignUp', {
        Username: form.elements.email.value.trim(),
        Password: form.elements.password.value,
        UserAttributes: [{ Name: 'email', Value: form.elements.email.value.trim() }],
      });
      return { email: form.elements.email.value.trim(), password: form.elements.password.value };
    },
    (account) => {
      const confirm = actionForm(
        { 'aria-label': t('account.confirm') },
        [
          notice(t('account.code_sent', { email: account.email })),
          field(t('account.code'), el('input', { name: 'code', required: true, inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' })),
          el('button', { type: 'submit', class: 'primary' }, t('account.confirm')),
        ],
        async (form) => {
          await userPool(config, 'ConfirmSignUp', { Username: account.email, ConfirmationCode: form.elements.code.value.trim() });
          await signInWithPassword(config, account.email, account.password);
          signedIn();
          return false;
        },
      );
      create.replaceWith(confirm);
    },
  );
  const signIn = actionForm(
    { 'aria-label': t('account.sign_in') },
    [field(t('account.email'), email()), field(t('account.password'), password('current-password')), el('button', { type: 'submit' }, t('account.sign_in'))],
    async (form) => {
      await signInWithPassword(config, form.elements.email.value.trim(), form.elements.password.value);
      signedIn();
      return false;
    },
  );
  return [el('h2', {}, t('account.create')), create, el('h2', {}, t('account.sign_in')), signIn];
}

// A person signed in who is staff of no business yet names theirs: POST /signup/merchant. The
// business is theirs at once; their token only says so once they sign in again (deployed, Cognito
// issues the new token; locally, a token from the local user pool's refresh).
import { el, languageSwitch } from './shared/dom.js';
import { useToken } from './auth.js';
import { LANGUAGES, rememberLanguage, setLanguage, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, checkbox, field, notice, select } from './ui.js';

// The kinds of business the platform's configuration lets sign up (the API refuses any other).
const KINDS = ['photography', 'trades'];

function slugOf(name) {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
}

export function signupPage(root, context, signOut, again) {
  const redraw = () => signupPage(root, context, signOut, again);
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
        el('button', { type: 'button', class: 'primary', onclick: again }, t('signup.sign_in_again')),
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
