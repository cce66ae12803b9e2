import { callView } from './call.js';
import { pipelineView } from './pipeline.js';
import { searchView } from './search.js';

/**
 * The console's router: every view has its own URL (`/search?…`, `/calls/<uuid>`, `/pipeline`), so any page can
 * be shared or bookmarked; links inside the console change the view without reloading the page.
 */
const main = document.getElementById('main') as HTMLElement;
let current = new AbortController();

function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render(true);
}

function render(moveFocus: boolean): void {
  current.abort();
  current = new AbortController();
  const url = new URL(location.href);
  const path = url.pathname;
  const call = /^\/calls\/([0-9a-fA-F-]{36})$/.exec(path);
  let section = 'search';
  if (path === '/pipeline') {
    section = 'pipeline';
    document.title = 'Pipeline · pbxkit';
    pipelineView(main, current.signal);
  } else if (call) {
    section = '';
    document.title = 'Call · pbxkit';
    callView(main, call[1] as string, current.signal);
  } else {
    document.title = 'Calls · pbxkit';
    searchView(main, url, navigate, current.signal);
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // A new view: focus its heading area so screen readers and keyboard users start there.
  if (moveFocus) main.focus({ preventScroll: false });
}

document.addEventListener('click', (event) => {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const a = (event.target as Element).closest('a');
  if (!a || a.hasAttribute('download') || a.target) return;
  const url = new URL(a.href, location.href);
  if (
    url.origin !== location.origin ||
    url.pathname.startsWith('/api/') ||
    url.pathname.startsWith('/recordings/')
  )
    return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => render(true));
render(false);
