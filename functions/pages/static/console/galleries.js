// A photographer's galleries: the list, a new gallery for a client, and one gallery with its
// photos (the client's favourites marked), uploads straight from the browser to S3 through the
// presigned PUTs, the client's link to copy, its expiry and downloads to change, and deletion.
import { el } from './shared/dom.js';
import { dateTime, t } from './shared/i18n.js';
import * as api from './api.js';
import { actionForm, checkbox, field, flashNotice, notice, section, select, shiftDay, shopDay, shopEndOfDay, shopToday, table } from './ui.js';

const DEFAULT_DAYS = 30; // a new gallery stays open this long unless staff choose otherwise
const POLL_MS = 2500; // while photos are being processed, the list of photos refreshes itself
const TYPES = 'image/jpeg,image/png,image/webp'; // what POST /uploads accepts

function stateBadge(gallery) {
  const state = gallery.expired ? 'expired' : gallery.status;
  return el('span', { class: `badge gallery-${state}` }, t(`gallery.state.${state}`));
}

function photoCount(gallery) {
  const { ready, pending, failed } = gallery.counts;
  const more = [pending ? t('gallery.processing_n', { n: pending }) : null, failed ? t('gallery.failed_n', { n: failed }) : null].filter(Boolean);
  return el('span', {}, String(ready), more.length ? el('small', {}, ` (${more.join(', ')})`) : null);
}

function createForm(context) {
  const zone = context.timezone();
  const defaults = context.merchants.get(context.merchant)?.gallery_defaults || {}; // the shop's, from Settings
  return actionForm(
    { class: 'action new-gallery', 'aria-label': t('galleries.new') },
    [
      el('div', { class: 'gallery-fields' },
        field(t('galleries.title_field'), el('input', { name: 'title', maxlength: '120', required: true, autocomplete: 'off' })),
        field(t('galleries.client_name'), el('input', { name: 'client_name', maxlength: '120', required: true, autocomplete: 'off' })),
        field(t('galleries.client_email'), el('input', { name: 'client_email', type: 'email', maxlength: '254', required: true, autocomplete: 'off' })),
        field(t('galleries.client_language'), select('locale', [['', t('galleries.shop_language')], ['en', 'English'], ['fr', 'Français']], '')),
        field(t('galleries.expires'), el('input', { name: 'expires', type: 'date', required: true, min: shopToday(zone), value: shiftDay(shopToday(zone), defaults.expiry_days || DEFAULT_DAYS) }), t('galleries.expires_help'))),
      checkbox('downloads', t('galleries.downloads'), Boolean(defaults.downloads)),
      checkbox('access_code', t('galleries.access_code_ask'), false),
      el('button', { type: 'submit', class: 'primary' }, t('galleries.create')),
    ],
    (form) => {
      const value = (name) => form.elements[name].value.trim();
      if (!value('title') || !value('client_name') || !form.elements.client_email.checkValidity() || !value('client_email') || !value('expires')) {
        throw new Error(t('galleries.fill_in'));
      }
      return api.post('/admin/galleries', {
        merchant: context.merchant,
        title: value('title'),
        client: { name: value('client_name'), email: value('client_email'), ...(value('locale') ? { locale: value('locale') } : {}) },
        expires_at: shopEndOfDay(value('expires'), zone),
        downloads: form.elements.downloads.checked,
        access_code: form.elements.access_code.checked,
      });
    },
    (created) => {
      context.flash = t('galleries.created', { title: created.title });
      context.go(`#/galleries/${encodeURIComponent(created.gallery_id)}`);
    },
  );
}

export async function galleriesView(context, parameters) {
  const heading = el('h1', {}, t('galleries.title'));
  if (!context.merchant) return [heading, notice(t('galleries.pick_merchant'))];
  const zone = context.timezone();
  const cursor = parameters.get('cursor');
  const found = await api.get(`/admin/galleries${api.query({ merchant: context.merchant, cursor })}`);
  return [
    heading,
    flashNotice(context),
    table([
      { label: t('galleries.title_field'), cell: (g) => el('a', { href: `#/galleries/${encodeURIComponent(g.gallery_id)}` }, g.title) },
      { label: t('galleries.client'), cell: (g) => el('span', {}, g.client.name, el('br'), el('small', {}, g.client.email)) },
      { label: t('galleries.photos'), cell: photoCount },
      { label: t('galleries.favourites'), cell: (g) => String(g.counts.favourites) },
      { label: t('galleries.expires_at'), cell: (g) => dateTime(g.expires_at, zone) },
      { label: t('galleries.state'), cell: stateBadge },
    ], found.galleries, { caption: t('galleries.title') }),
    el('div', { class: 'buttons paging' },
      cursor ? el('a', { class: 'button', href: '#/galleries' }, t('console.first')) : null,
      found.next_cursor ? el('a', { class: 'button', rel: 'next', href: `#/galleries?${new URLSearchParams({ cursor: found.next_cursor })}` }, t('console.more')) : null),
    section(t('galleries.new'), createForm(context)),
  ];
}

// ---- One gallery -----------------------------------------------------------------------------

function photoCard(photo) {
  const picture = photo.thumbnail
    ? el('img', { src: photo.thumbnail.url, width: photo.thumbnail.width, height: photo.thumbnail.height, alt: photo.filename, loading: 'lazy' })
    : el('div', { class: 'no-picture' }, photo.status === 'failed' ? t('gallery.photo_failed') : t('gallery.photo_processing'));
  return el(
    'li',
    { class: `photo${photo.favourite ? ' favourite' : ''}`, 'data-media-id': photo.media_id },
    el('figure', {},
      picture,
      el('figcaption', {},
        el('span', { class: 'filename' }, photo.filename),
        photo.favourite ? el('span', { class: 'badge favourite-mark' }, `★ ${t('gallery.favourite')}`) : null,
        photo.status === 'failed' && photo.reason ? el('small', { class: 'reason' }, photo.reason) : null)),
  );
}

// The photos and their counts; refills itself while photos are still being processed, and stops
// once they are done or staff left the page.
function photosPanel(gallery, parameters) {
  const favouritesOnly = parameters.get('favourites') === '1';
  const panel = el('section', { class: 'panel', 'aria-labelledby': 'photos-heading' });
  const path = `/admin/galleries/${encodeURIComponent(gallery.gallery_id)}`;
  const fill = (found) => {
    const { ready, pending, failed, favourites } = found.counts;
    const base = `#/galleries/${encodeURIComponent(found.gallery_id)}`;
    panel.replaceChildren(...[
      el('h2', { id: 'photos-heading' }, t('galleries.photos')),
      el('p', { class: 'counts', role: 'status' },
        t('gallery.counts', { ready, favourites }),
        pending ? ` · ${t('gallery.processing_n', { n: pending })}` : '',
        failed ? ` · ${t('gallery.failed_n', { n: failed })}` : ''),
      el('div', { class: 'buttons' },
        el('a', { class: 'button', href: base, 'aria-current': favouritesOnly ? null : 'page' }, t('gallery.all_photos')),
        el('a', { class: 'button', href: `${base}?favourites=1`, 'aria-current': favouritesOnly ? 'page' : null }, t('gallery.only_favourites'))),
      found.photos.length ? el('ul', { class: 'photos' }, found.photos.map(photoCard)) : notice(favouritesOnly ? t('gallery.no_favourites') : t('gallery.no_photos')),
      found.next_cursor ? el('p', {}, el('a', { class: 'button', rel: 'next', href: `${base}?${new URLSearchParams({ ...(favouritesOnly ? { favourites: '1' } : {}), cursor: found.next_cursor })}` }, t('console.more'))) : null,
    ].filter(Boolean));
    if (pending) setTimeout(() => { if (panel.isConnected) reload(); }, POLL_MS);
  };
  const reload = async () => {
    try {
      fill(await api.get(`${path}${api.query({ favourites: favouritesOnly ? 'true' : null, cursor: parameters.get('cursor') })}`));
    } catch {
      if (panel.isConnected) setTimeout(reload, POLL_MS); // a blip: the next try shows the photos
    }
  };
  fill(gallery);
  panel.reload = reload;
  return panel;
}

function uploadForm(gallery, photos) {
  const files = el('input', { type: 'file', name: 'files', multiple: true, accept: TYPES });
  let progress = null;
  return actionForm(
    { class: 'action', 'aria-label': t('gallery.upload') },
    [field(t('gallery.upload_files'), files, t('gallery.upload_help')), el('button', { type: 'submit', class: 'primary' }, t('gallery.upload_button'))],
    async (form) => {
      const chosen = [...files.files];
      if (!chosen.length) throw new Error(t('gallery.upload_files'));
      progress = form.querySelector('.form-result');
      for (const [index, file] of chosen.entries()) {
        progress.replaceChildren(notice(t('gallery.uploading', { n: index + 1, count: chosen.length, name: file.name })));
        const offer = await api.post('/uploads', {
          purpose: 'gallery',
          gallery_id: gallery.gallery_id,
          filename: file.name,
          content_type: file.type,
          size: file.size,
        });
        await api.putFile(offer.upload, file);
      }
      files.value = '';
      return chosen.length;
    },
    async (count) => {
      progress.replaceChildren(notice(t('gallery.uploaded', { n: count }), 'ok'));
      await photos.reload();
    },
  );
}

function linkPanel(gallery) {
  const link = el('input', { name: 'link', value: gallery.link, readonly: true, 'aria-describedby': 'link-copied' });
  const said = el('span', { id: 'link-copied', role: 'status', class: 'muted' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(gallery.link);
    } catch {
      link.select(); // no clipboard for this page: the link is selected, ready to copy by hand
      document.execCommand('copy');
    }
    said.textContent = t('gallery.copied');
  };
  return section(
    t('gallery.client_link'),
    field(t('gallery.link'), link),
    el('div', { class: 'buttons' }, el('button', { type: 'button', onclick: copy }, t('gallery.copy')), said),
    gallery.access_code ? el('p', {}, t('gallery.access_code'), ' ', el('strong', { class: 'code' }, gallery.access_code)) : el('p', { class: 'muted' }, t('gallery.no_access_code')),
  );
}

function changeForm(context, gallery, zone) {
  const expiry = shopDay(gallery.expires_at, zone);
  return actionForm(
    { class: 'action', 'aria-label': t('gallery.change') },
    [
      field(t('galleries.expires'), el('input', { name: 'expires', type: 'date', required: true, value: expiry }), t('gallery.expires_help')),
      checkbox('downloads', t('galleries.downloads'), gallery.downloads),
      field(t('gallery.access_code_field'), select('access_code', [
        ['', t('gallery.code_keep')],
        ['new', t('gallery.code_new')],
        ...(gallery.access_code_required ? [['none', t('gallery.code_none')]] : []),
      ], '')),
      el('button', { type: 'submit' }, t('gallery.save')),
    ],
    (form) => {
      const change = {};
      const day = form.elements.expires.value;
      if (day && day !== expiry) change.expires_at = shopEndOfDay(day, zone);
      if (form.elements.downloads.checked !== gallery.downloads) change.downloads = form.elements.downloads.checked;
      if (form.elements.access_code.value) change.access_code = form.elements.access_code.value;
      if (!Object.keys(change).length) throw new Error(t('gallery.nothing_changed'));
      return api.patch(`/admin/galleries/${encodeURIComponent(gallery.gallery_id)}`, change);
    },
    () => {
      context.flash = t('gallery.changed');
      context.refresh();
    },
  );
}

function deleteForm(context, gallery) {
  const photos = gallery.counts.ready + gallery.counts.pending + gallery.counts.failed;
  return actionForm(
    { class: 'action', 'aria-label': t('gallery.delete') },
    [
      el('p', {}, t('gallery.delete_help')),
      el('button', { type: 'submit', class: 'danger' }, t('gallery.delete_button')),
    ],
    () => {
      // eslint-disable-next-line no-alert
      if (!window.confirm(t('gallery.delete_confirm', { title: gallery.title, n: photos }))) return false;
      return api.remove(`/admin/galleries/${encodeURIComponent(gallery.gallery_id)}`);
    },
    () => {
      context.flash = t('gallery.deleted', { title: gallery.title });
      context.go('#/galleries');
    },
  );
}

export async function galleryView(context, galleryId, parameters) {
  const gallery = await api.get(`/admin/galleries/${encodeURIComponent(galleryId)}${api.query({
    favourites: parameters.get('favourites') === '1' ? 'true' : null,
    cursor: parameters.get('cursor'),
  })}`);
  const zone = context.timezone(gallery.merchant);
  document.title = `${gallery.title} · ${t('console.title')}`;
  const photos = photosPanel(gallery, parameters);
  return [
    el('p', {}, el('a', { href: '#/galleries' }, `← ${t('gallery.back')}`)),
    el('h1', {}, gallery.title, ' ', stateBadge(gallery)),
    flashNotice(context),
    el('dl', { class: 'facts' },
      el('dt', {}, t('galleries.client')), el('dd', {}, `${gallery.client.name} · ${gallery.client.email}`),
      el('dt', {}, t('galleries.expires_at')), el('dd', {}, dateTime(gallery.expires_at, zone)),
      el('dt', {}, t('galleries.downloads_short')), el('dd', {}, gallery.downloads ? t('gallery.yes') : t('gallery.no')),
      gallery.order_id ? [el('dt', {}, t('orders.number')), el('dd', {}, el('a', { href: `#/orders/${encodeURIComponent(gallery.order_id)}` }, t('gallery.order')))] : null),
    section(t('gallery.upload'), uploadForm(gallery, photos)),
    photos,
    el('div', { class: 'columns' }, linkPanel(gallery), section(t('gallery.change'), changeForm(context, gallery, zone))),
    section(t('gallery.delete'), deleteForm(context, gallery)),
  ];
}
