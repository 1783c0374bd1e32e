// Building pages from data without ever parsing it as HTML: every string becomes a text node, so
// whatever a customer typed (a name like <img src=x onerror=...>) shows as text.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// English / Français buttons; `choose(language)` is called with the one pressed.
export function languageSwitch(languages, current, label, choose) {
  return el(
    'nav',
    { class: 'languages', 'aria-label': label },
    Object.entries(languages).map(([code, name]) =>
      el('button', { type: 'button', lang: code, 'aria-pressed': code === current ? 'true' : 'false', onclick: () => choose(code) }, name),
    ),
  );
}
