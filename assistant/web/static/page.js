// The chat page's script: runs once in the article panel (gr.HTML js_on_load, with its
// `element`, `props`, `server` and `watch`). Scrolls to the first highlight whenever the panel
// changes, and handles clicks on markers, sources, copy and thumbs buttons inside chat answers
// and on the chat / article switch of phone widths.
window.__articlePanel = {element, props, server};
const phone = () => window.matchMedia('(max-width: 820px)').matches;
const reduced = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const scrollToTarget = () => {
  const panel = window.__articlePanel.element;
  const box = panel.querySelector('.article-scroll');
  const target = panel.querySelector('#hl-target');
  if (!box || !target) return;
  const t = target.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  const margin = Math.min(60, b.height / 6);  // in view, but not at the very edge
  if (b.height === 0 || (t.top >= b.top + 4 && t.bottom <= b.bottom - margin)) return;
  box.scrollTo({top: Math.max(0, t.top - b.top + box.scrollTop - 40),
                behavior: reduced() ? 'auto' : 'smooth'});
};
window.__articleScroll = () => requestAnimationFrame(() => requestAnimationFrame(scrollToTarget));
watch('value', window.__articleScroll);
window.__articleScroll();
if (!window.__articleHooks) {
  window.__articleHooks = true;
  const showArticle = (on) => {
    for (const tab of document.querySelectorAll('.view-tab')) {
      tab.setAttribute('aria-pressed', String((tab.id === 'tab-article') === on));
    }
    if (on) {
      window.__articleScroll();
      const box = document.querySelector('#article-panel .article-scroll');
      if (box) box.focus({preventScroll: true});
    }
  };
  window.__showArticle = showArticle;
  // Gradio lists the chat's example questions as role="list" of buttons, which is not a list
  // (axe: aria-required-children): they are a group of buttons.
  // Votes are shown again whenever the chat is drawn anew.
  window.__votes = {};
  const showVotes = () => {
    for (const [id, vote] of Object.entries(window.__votes)) {
      const buttons = document.querySelectorAll(`#chat button.vote[value^="${id}:"]`);
      for (const b of buttons) {
        const pressed = String(b.value === `${id}:${vote.rating}`);
        if (b.getAttribute('aria-pressed') !== pressed) b.setAttribute('aria-pressed', pressed);
      }
      const tools = buttons.length ? buttons[0].parentElement : null;
      if (tools && !tools.querySelector('.vote-note')) {
        const span = document.createElement('span');
        span.className = 'vote-note';
        span.setAttribute('role', 'status');
        span.textContent = vote.note;
        tools.appendChild(span);
      }
    }
  };
  // Gradio names each message "user's message: ..." in English whatever the page's language.
  const fixGradio = () => {
    showVotes();
    for (const list of document.querySelectorAll('#chat .examples[role="list"]')) {
      list.setAttribute('role', 'group');
    }
    const en = document.querySelector('#intro .intro')?.lang === 'en';
    const who = {user: en ? 'Your question: ' : 'Votre question : ',
                 bot: en ? 'Answer: ' : 'Réponse : '};
    for (const m of document.querySelectorAll(
        '#chat [data-testid="user"][aria-label], #chat [data-testid="bot"][aria-label]')) {
      const label = who[m.dataset.testid] + m.textContent.trim().slice(0, 150);
      if (m.getAttribute('aria-label') !== label) m.setAttribute('aria-label', label);
    }
  };
  new MutationObserver(fixGradio).observe(document.body, {childList: true, subtree: true});
  fixGradio();
  const copyText = async (text) => {
    try { await navigator.clipboard.writeText(text); return; } catch (e) { /* fall back */ }
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  };
  document.addEventListener('click', async (event) => {
    const tab = event.target.closest && event.target.closest('.view-tab');
    if (tab) { showArticle(tab.id === 'tab-article'); return; }
    const button = event.target.closest && event.target.closest(
      '.ans button.src-btn, .ans button.mk, .ans button.copy-btn, .ans button.vote');
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const ans = button.closest('.ans');
    const panel = window.__articlePanel;
    if (button.classList.contains('copy-btn')) {
      const pre = ans.querySelector('pre.copy-text');
      await copyText(pre ? pre.textContent : ans.innerText);
      button.classList.add('copied');
      setTimeout(() => button.classList.remove('copied'), 1500);
      return;
    }
    if (button.classList.contains('vote')) {
      const [id, rating] = button.value.split(':');
      const note = await panel.server.vote({id, rating, lang: ans.lang});
      window.__votes[id] = {rating, note: typeof note === 'string' ? note : ''};
      showVotes();
      return;
    }
    const spans = [...ans.querySelectorAll('button.src-btn')]
      .map((b) => b.value.split(':').map((v) => parseInt(v, 10)));
    const active = parseInt(button.value.split(':')[0], 10);
    const near = ans.classList.contains('ans-notfound');
    const session = panel.element.querySelector('.article-panel')?.dataset.session || '';
    const html = await panel.server.highlight({spans, active, near, lang: ans.lang, session});
    if (typeof html === 'string' && html) {
      panel.props.value = html;
      if (phone()) showArticle(true);
      window.__articleScroll();
    }
  }, true);
}
