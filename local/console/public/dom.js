// Small DOM helpers: text is always set as text (never as HTML), so API data cannot inject markup.

/** The element with that id (the page's static structure is in index.html). */
export const $ = (id) => document.getElementById(id);

/** A new element with properties, attributes (`attrs`) and children (strings become text). */
export const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  const { attrs, ...rest } = props;
  Object.assign(el, rest);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) el.append(child);
  }
  return el;
};

/** Replaces the children of `el` with `children`. */
export const fill = (el, ...children) => el.replaceChildren(...children.flat().filter(Boolean));

/** A local, readable time for an ISO timestamp. */
export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');

/** Shows `text` in a message element, as an error or not. */
export const say = (el, text, isError = false) => {
  el.textContent = text;
  el.classList.toggle('error', isError);
};

/** Runs `fn` every `ms` (never two runs at once), paused while the tab is hidden. */
export const every = (ms, fn) => {
  let busy = false;
  const run = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      await fn();
    } catch (error) {
      console.warn(error);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(run, ms);
  run();
  return () => clearInterval(timer);
};
