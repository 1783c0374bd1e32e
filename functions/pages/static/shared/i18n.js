// Words and formats the hosted order page and the staff console share: English and French, money
// in each currency's own minor unit (XAF and XOF have none), dates in the shop's time zone. The
// browser's Intl (ICU) does the formatting; nothing here rounds or parses money as a float.

export const LANGUAGES = { en: 'English', fr: 'Français' };

const WORDS = {
  en: {
    'order.title': 'Order {number}',
    'order.from': 'from {shop}',
    'order.loading': 'Loading your order…',
    'order.not_found': 'We could not find this order. Open the link from your email again.',
    'order.no_token': 'This page needs the link from your email (it carries a key to your order).',
    'order.offline': 'Could not reach the shop. Trying again…',
    'order.live': 'This page updates by itself.',
    'order.items': 'What you ordered',
    'order.total': 'Total',
    'order.paid': 'Paid',
    'order.refunded': 'Refunded',
    'order.balance_line_paid': 'Balance paid',
    'order.balance_line_due': 'Balance due',
    'order.pay_balance': 'Pay the balance',
    'order.refund_in_progress': 'Refund on its way',
    'order.timeline': 'What happened',
    'order.progress': 'Progress',
    'order.stage_of': 'Step {n} of {count}',
    'order.back_success': 'Thank you. We are confirming your payment; this page changes as soon as it is done.',
    'order.back_cancel': 'You left the payment page without paying. You can pay below.',
    'order.pay_now': 'Pay now',
    'order.try_again': 'Try again',
    'order.approve_on_phone': 'Approve the payment prompt on your phone ({operator}). This page changes once you have.',
    'order.download': 'Download your file',
    'order.download_until': 'The link works until {date}.',
    'order.message': 'Message from the shop',
    'order.quantity': '× {n}',
    'status.pending_payment': 'Waiting for your payment',
    'status.payment_failed': 'Your payment did not go through',
    'status.needs_review': 'We are checking your payment',
    'status.paid': 'Paid, thank you',
    'status.expired': 'This checkout expired',
    'status.cancelled': 'This order was cancelled',
    'next.pending_payment': 'Finish paying to confirm your order. Nothing is charged until you do.',
    'next.payment_failed': 'Nothing was charged. You can try again with another card or account.',
    'next.needs_review': 'A person at the shop is checking this payment. You will get an email when they have.',
    'next.paid': 'The shop has your order and will start on it. You will get an email at each step.',
    'next.stage': 'The shop is working on your order. You will get an email at each step.',
    'next.delivered': 'Your order is complete.',
    'next.expired': 'The payment was not finished in time, so nothing was charged. You can order again from the shop.',
    'next.cancelled': 'Anything you paid is refunded as shown below.',
    'money.partially_refunded': 'Partly refunded',
    'money.refunded': 'Refunded',
    'money.disputed': 'Payment disputed with your bank',
    'money.charged_back': 'Payment returned by your bank',
    'event.placed': 'Order placed',
    'event.status': '{status}',
    'event.refund': 'Refund of {amount}',
    'event.balance': 'Balance of {amount} paid',
    'next.balance_due': 'The balance of {amount} is due. Pay it with the button below.',
    'event.money': '{state}',
    'event.details_changed': '{name} changed: now {details}',
    'event.cancelled': '{name} cancelled: {reason}',
    'order.tickets': 'Your tickets',
    'order.tickets_note': 'Show the QR code from your confirmation email, its PDF, or read out the code at the door. Each ticket admits one person, once.',
    'ticket.n_of': 'Ticket {n} of {count}',
    'ticket.voided': 'Refunded: no longer valid',
    'ticket.returning': 'Being given back: no longer valid',
    'next.tickets': 'Your tickets are below and in your confirmation email.',
    'next.tickets_given_back': 'Your tickets were given back and refunded: they no longer admit anyone.',
    'next.event_cancelled': '{name} is cancelled. “{reason}” Your tickets no longer admit anyone and are refunded in full.',
    'give_back.heading': '{name} has changed',
    'give_back.now': 'Now {details}.',
    'give_back.offer_one': 'Can’t make it? Give back your ticket and get {amount} back in full.',
    'give_back.offer_many': 'Can’t make it? Give back your {count} tickets and get {amount} back in full.',
    'give_back.until': 'You can do this until it starts.',
    'give_back.button_one': 'Give back my ticket',
    'give_back.button_many': 'Give back my tickets',
    'give_back.confirm_one': 'Ticket {codes} will no longer admit anyone. This cannot be undone.',
    'give_back.confirm_many': 'Tickets {codes} will no longer admit anyone. This cannot be undone.',
    'give_back.yes_one': 'Yes, give back my ticket for {amount}',
    'give_back.yes_many': 'Yes, give back my {count} tickets for {amount}',
    'give_back.keep_one': 'Keep my ticket',
    'give_back.keep_many': 'Keep my tickets',
    'give_back.sending': 'Giving back your tickets…',
    'give_back.done_card_one': 'Your ticket for {name} is given back: {amount} is refunded to your card. Your bank may take a few days to show it.',
    'give_back.done_card_many': 'Your tickets for {name} are given back: {amount} is refunded to your card. Your bank may take a few days to show it.',
    'give_back.done_paypal_one': 'Your ticket for {name} is given back: {amount} is refunded to your PayPal account.',
    'give_back.done_paypal_many': 'Your tickets for {name} are given back: {amount} is refunded to your PayPal account.',
    'give_back.done_owed_one': 'Your ticket for {name} is given back. The shop will pay {amount} back to your phone.',
    'give_back.done_owed_many': 'Your tickets for {name} are given back. The shop will pay {amount} back to your phone.',
    'give_back.failed': 'Your tickets were not given back: {message}',
    'give_back.provider_unavailable': 'The payment service did not answer, so your refund is not finished yet. Your tickets are set aside and no longer admit anyone: try again in a few minutes.',
    'give_back.nothing_to_give_back': 'These tickets can no longer be given back: the event has started, or they were used or given back already. Contact the shop.',
    'give_back.payment_disputed': 'A dispute about this payment is open with your bank: the tickets can be given back once it is closed.',
    'give_back.refund_refused': 'The payment service refused this refund: nothing was refunded and your tickets still admit you. Contact the shop.',
    'give_back.offline': 'Could not reach the shop. Check your connection and try again.',
    'language': 'Language',
  },
  fr: {
    'order.title': 'Commande {number}',
    'order.from': 'chez {shop}',
    'order.loading': 'Chargement de votre commande…',
    'order.not_found': 'Nous ne trouvons pas cette commande. Rouvrez le lien de votre e-mail.',
    'order.no_token': 'Cette page a besoin du lien de votre e-mail (il contient une clé de votre commande).',
    'order.offline': 'Impossible de joindre la boutique. Nouvel essai…',
    'order.live': 'Cette page se met à jour toute seule.',
    'order.items': 'Votre commande',
    'order.total': 'Total',
    'order.paid': 'Payé',
    'order.refunded': 'Remboursé',
    'order.balance_line_paid': 'Solde payé',
    'order.balance_line_due': 'Solde à payer',
    'order.pay_balance': 'Payer le solde',
    'order.refund_in_progress': 'Remboursement en cours',
    'order.timeline': 'Historique',
    'order.progress': 'Avancement',
    'order.stage_of': 'Étape {n} sur {count}',
    'order.back_success': 'Merci. Nous confirmons votre paiement ; cette page change dès que c’est fait.',
    'order.back_cancel': 'Vous avez quitté la page de paiement sans payer. Vous pouvez payer ci-dessous.',
    'order.pay_now': 'Payer maintenant',
    'order.try_again': 'Réessayer',
    'order.approve_on_phone': 'Validez la demande de paiement sur votre téléphone ({operator}). Cette page change ensuite.',
    'order.download': 'Télécharger votre fichier',
    'order.download_until': 'Le lien fonctionne jusqu’au {date}.',
    'order.message': 'Message de la boutique',
    'order.quantity': '× {n}',
    'status.pending_payment': 'En attente de votre paiement',
    'status.payment_failed': 'Votre paiement n’a pas abouti',
    'status.needs_review': 'Nous vérifions votre paiement',
    'status.paid': 'Payée, merci',
    'status.expired': 'Ce paiement a expiré',
    'status.cancelled': 'Cette commande a été annulée',
    'next.pending_payment': 'Terminez le paiement pour confirmer votre commande. Rien n’est débité avant.',
    'next.payment_failed': 'Rien n’a été débité. Vous pouvez réessayer avec une autre carte ou un autre compte.',
    'next.needs_review': 'Une personne de la boutique vérifie ce paiement. Vous recevrez un e-mail ensuite.',
    'next.paid': 'La boutique a reçu votre commande et va s’y mettre. Vous recevrez un e-mail à chaque étape.',
    'next.stage': 'La boutique travaille sur votre commande. Vous recevrez un e-mail à chaque étape.',
    'next.delivered': 'Votre commande est terminée.',
    'next.expired': 'Le paiement n’a pas été terminé à temps : rien n’a été débité. Vous pouvez recommander.',
    'next.cancelled': 'Ce que vous avez payé est remboursé comme indiqué ci-dessous.',
    'money.partially_refunded': 'Remboursée en partie',
    'money.refunded': 'Remboursée',
    'money.disputed': 'Paiement contesté auprès de votre banque',
    'money.charged_back': 'Paiement repris par votre banque',
    'event.placed': 'Commande passée',
    'event.status': '{status}',
    'event.refund': 'Remboursement de {amount}',
    'event.balance': 'Solde de {amount} payé',
    'next.balance_due': 'Le solde de {amount} est à payer. Réglez-le avec le bouton ci-dessous.',
    'event.money': '{state}',
    'event.details_changed': 'Changement pour {name} : désormais {details}',
    'event.cancelled': '{name} annulé : {reason}',
    'order.tickets': 'Vos billets',
    'order.tickets_note': 'Présentez à l’entrée le QR code de votre e-mail de confirmation, son PDF, ou dites le code. Chaque billet admet une personne, une fois.',
    'ticket.n_of': 'Billet {n} sur {count}',
    'ticket.voided': 'Remboursé : plus valable',
    'ticket.returning': 'En cours de restitution : plus valable',
    'next.tickets': 'Vos billets sont ci-dessous et dans votre e-mail de confirmation.',
    'next.tickets_given_back': 'Vos billets ont été rendus et remboursés : ils n’admettent plus personne.',
    'next.event_cancelled': '{name} est annulé. « {reason} » Vos billets n’admettent plus personne et vous sont remboursés en totalité.',
    'give_back.heading': 'Changement pour {name}',
    'give_back.now': 'Désormais : {details}.',
    'give_back.offer_one': 'Vous ne pouvez pas venir ? Rendez votre billet : la boutique vous rembourse {amount} en totalité.',
    'give_back.offer_many': 'Vous ne pouvez pas venir ? Rendez vos {count} billets : la boutique vous rembourse {amount} en totalité.',
    'give_back.until': 'C’est possible jusqu’au début de l’événement.',
    'give_back.button_one': 'Rendre mon billet',
    'give_back.button_many': 'Rendre mes billets',
    'give_back.confirm_one': 'Le billet {codes} n’admettra plus personne. C’est définitif.',
    'give_back.confirm_many': 'Les billets {codes} n’admettront plus personne. C’est définitif.',
    'give_back.yes_one': 'Oui, rendre mon billet pour {amount}',
    'give_back.yes_many': 'Oui, rendre mes {count} billets pour {amount}',
    'give_back.keep_one': 'Garder mon billet',
    'give_back.keep_many': 'Garder mes billets',
    'give_back.sending': 'Retour de vos billets en cours…',
    'give_back.done_card_one': 'Votre billet pour {name} est rendu : {amount} vous sont remboursés sur votre carte. Votre banque peut mettre quelques jours à l’afficher.',
    'give_back.done_card_many': 'Vos billets pour {name} sont rendus : {amount} vous sont remboursés sur votre carte. Votre banque peut mettre quelques jours à l’afficher.',
    'give_back.done_paypal_one': 'Votre billet pour {name} est rendu : {amount} vous sont remboursés sur votre compte PayPal.',
    'give_back.done_paypal_many': 'Vos billets pour {name} sont rendus : {amount} vous sont remboursés sur votre compte PayPal.',
    'give_back.done_owed_one': 'Votre billet pour {name} est rendu. La boutique vous remboursera {amount} sur votre téléphone.',
    'give_back.done_owed_many': 'Vos billets pour {name} sont rendus. La boutique vous remboursera {amount} sur votre téléphone.',
    'give_back.failed': 'Vos billets n’ont pas été rendus : {message}',
    'give_back.provider_unavailable': 'Le service de paiement n’a pas répondu : votre remboursement n’est pas encore terminé. Vos billets sont mis de côté et n’admettent plus personne : réessayez dans quelques minutes.',
    'give_back.nothing_to_give_back': 'Ces billets ne peuvent plus être rendus : l’événement a commencé, ou ils ont déjà été utilisés ou rendus. Contactez la boutique.',
    'give_back.payment_disputed': 'Un litige sur ce paiement est ouvert auprès de votre banque : les billets pourront être rendus une fois qu’il sera clos.',
    'give_back.refund_refused': 'Le service de paiement a refusé ce remboursement : rien n’a été remboursé et vos billets restent valables. Contactez la boutique.',
    'give_back.offline': 'Impossible de joindre la boutique. Vérifiez votre connexion et réessayez.',
    'language': 'Langue',
  },
};

// The stages shops use, in both languages; any other stage reads as its name.
const STAGES = {
  en: {
    discovery: 'Getting to know your story', writing: 'Writing', production: 'Production', review: 'Your review',
    revision: 'Revision', delivered: 'Delivered', tickets_issued: 'Tickets issued', scheduled: 'Scheduled',
    job_done: 'Job done', shooting: 'Photo shoot', editing: 'Editing', gallery_ready: 'Gallery ready',
    session_scheduled: 'Session booked',
  },
  fr: {
    discovery: 'Découverte de votre histoire', writing: 'Écriture', production: 'Production', review: 'Votre écoute',
    revision: 'Retouches', delivered: 'Livrée', tickets_issued: 'Billets émis', scheduled: 'Planifiée',
    job_done: 'Travaux terminés', shooting: 'Séance photo', editing: 'Retouche photo', gallery_ready: 'Galerie prête',
    session_scheduled: 'Séance réservée',
  },
};

let current = 'en';

// A page adds its own words (the console's) to the shared ones, in both languages.
export function addWords(words) {
  for (const [lang, entries] of Object.entries(words)) Object.assign(WORDS[lang], entries);
}

export function setLanguage(language) {
  current = language in WORDS ? language : 'en';
  document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

// Whether there are words for `key` (in English at least).
export function hasWords(key) {
  return key in WORDS.en;
}

export function t(key, values = {}) {
  const text = WORDS[current][key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

export function stageName(stage) {
  const known = STAGES[current][stage] ?? STAGES.en[stage];
  if (known) return known;
  const words = String(stage).replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// A status as people read it: the payment states in words, a stage by its name.
export function statusName(status) {
  const key = `status.${status}`;
  return hasWords(key) ? t(key) : stageName(status);
}

// {amount, currency} in minor units, shown as the language writes that currency. The amount goes
// to Intl as a decimal string (major units), so no float ever holds it.
export function money(value) {
  if (!value) return '';
  const format = new Intl.NumberFormat(current, { style: 'currency', currency: value.currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  const negative = value.amount < 0;
  const minor = String(Math.abs(value.amount)).padStart(digits + 1, '0');
  const major = digits ? `${minor.slice(0, -digits)}.${minor.slice(-digits)}` : minor;
  return format.format(`${negative ? '-' : ''}${major}`);
}

// A calendar day (YYYY-MM-DD, already the shop's) as the language writes it.
export function day(isoDay) {
  if (!isoDay) return '';
  const [year, month, date] = isoDay.split('-').map(Number);
  const options = { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' };
  return new Intl.DateTimeFormat(current, options).format(new Date(Date.UTC(year, month - 1, date)));
}

// An ISO 8601 instant in the shop's time zone, with the zone's name so nobody guesses.
export function dateTime(iso, timeZone) {
  if (!iso) return '';
  const options = {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZone: timeZone || 'UTC', timeZoneName: 'short',
  };
  return new Intl.DateTimeFormat(current, options).format(new Date(iso));
}

// The hour and minute of an ISO 8601 instant in a time zone (the event's, at its door).
export function timeOfDay(iso, timeZone) {
  if (!iso) return '';
  const options = { hour: '2-digit', minute: '2-digit', timeZone: timeZone || 'UTC' };
  return new Intl.DateTimeFormat(current, options).format(new Date(iso));
}

// The language to start in: the one chosen here before, else the order's or the browser's.
export function startingLanguage(preferred) {
  const chosen = localStorage.getItem('caisse-language');
  if (chosen && chosen in WORDS) return chosen;
  if (preferred && preferred in WORDS) return preferred;
  const browser = (navigator.language || 'en').slice(0, 2);
  return browser in WORDS ? browser : 'en';
}

export function rememberLanguage(language) {
  localStorage.setItem('caisse-language', language);
}
