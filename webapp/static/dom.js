// The two DOM helpers the live panel's modules share.

/** <tag attributes...>children</tag>. */
export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Text that changes at every frame: written only when it differs (reading it back is cheap, writing is not). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
