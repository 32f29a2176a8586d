// The live demo page: plain browser JavaScript, no build step, no network beyond this API.

const STEPS = [
  { name: 'seen', label: 'Change event seen', where: 'Kafka' },
  { name: 'invalidated', label: 'Key invalidated', where: 'Redis' },
  { name: 'miss', label: 'Next read', where: 'API', badge: 'MISS' },
  { name: 'refilled', label: 'Refilled with the fresh value', where: 'Redis' },
];

const state = {
  categories: [],
  /** product id -> { product, outcome, changed } */
  products: new Map(),
  /** category id -> X-Cache of its list */
  lists: new Map(),
  selectedId: null,
  /** timeline entry id -> entry */
  entries: new Map(),
  /** entries whose invalidation already triggered a re-read */
  reread: new Set(),
};

const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes (never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { accept: 'application/json', ...(options.headers ?? {}) } });
  const body = await res.json().catch(() => null);
  return { status: res.status, outcome: res.headers.get('x-cache'), body };
}

const badge = (outcome) => (outcome ? el('span', { class: `badge ${outcome.toLowerCase()}` }, outcome) : el('span', { class: 'badge none' }, '—'));
const price = (text) => `€ ${text}`;

// ---- products -------------------------------------------------------------

async function readProduct(id) {
  const { status, outcome, body } = await api(`/products/${id}`);
  if (status === 404) state.products.delete(id); // deleted in Postgres
  if (status !== 200) return renderProducts();
  const before = state.products.get(id)?.product;
  const changed = before !== undefined && (before.price !== body.price || before.name !== body.name || before.category_id !== body.category_id);
  const entry = { product: body, outcome, changed };
  state.products.set(id, entry);
  if (changed && id === Number($('edit-id').value) && !$('edit-form').contains(document.activeElement)) fillEditForm();
  // Flash once: later renders must not replay the highlight.
  if (changed) setTimeout(() => (entry.changed = false), 2500);
  renderProducts();
}

async function readList(categoryId) {
  const { status, outcome, body } = await api(`/categories/${categoryId}/products`);
  if (status !== 200) return [];
  state.lists.set(categoryId, outcome);
  return body;
}

async function loadAll() {
  const { body: categories } = await api('/categories');
  state.categories = categories;
  const lists = await Promise.all(categories.map((c) => readList(c.id)));
  const ids = lists.flat().map((p) => p.id);
  await Promise.all(ids.map(readProduct));
  if (state.selectedId === null && ids.length > 0) select(ids[0]);
  renderProducts();
  renderCategoryOptions();
}

function select(id) {
  state.selectedId = id;
  const entry = state.products.get(id);
  document.querySelectorAll('.selected-name').forEach((n) => (n.textContent = entry ? entry.product.name : `#${id}`));
  $('another-app').disabled = !entry;
  $('edit-id').value = String(id);
  fillEditForm();
  renderProducts();
}

function renderProducts() {
  const rows = [];
  for (const category of state.categories) {
    const products = [...state.products.values()].filter((p) => p.product.category_id === category.id).sort((a, b) => a.product.id - b.product.id);
    rows.push(
      el('tr', { class: 'group', 'data-category-id': String(category.id) }, el('td', { colspan: '3' }, category.name, el('code', {}, ` category:${category.id}:products`)), el('td', {}, badge(state.lists.get(category.id)))),
    );
    for (const { product, outcome, changed } of products) {
      rows.push(
        el(
          'tr',
          {
            class: [product.id === state.selectedId ? 'selected' : '', changed ? 'changed' : ''].join(' ').trim(),
            'data-product-id': String(product.id),
            onclick: () => select(product.id),
          },
          el('td', { class: 'muted' }, String(product.id)),
          el('td', {}, el('div', { class: 'name' }, product.name), el('div', { class: 'desc' }, product.description)),
          el('td', { class: 'num price' }, price(product.price)),
          el('td', {}, badge(outcome)),
        ),
      );
    }
  }
  $('product-rows').replaceChildren(...rows);
  const options = [...state.products.values()].sort((a, b) => a.product.id - b.product.id).map(({ product }) => el('option', { value: String(product.id) }, `#${product.id} ${product.name}`));
  const select_ = $('edit-id');
  const current = select_.value;
  select_.replaceChildren(...options);
  select_.value = current || String(state.selectedId ?? '');
}

function renderCategoryOptions() {
  $('edit-category').replaceChildren(...state.categories.map((c) => el('option', { value: String(c.id) }, c.name)));
  fillEditForm();
}

function fillEditForm() {
  const entry = state.products.get(Number($('edit-id').value));
  if (!entry) return;
  $('edit-name').value = entry.product.name;
  $('edit-price').value = entry.product.price;
  $('edit-category').value = String(entry.product.category_id);
}

// ---- actions --------------------------------------------------------------

async function anotherApp() {
  const id = state.selectedId;
  const button = $('another-app');
  button.disabled = true;
  try {
    const { status, body } = await api(`/another-app/products/${id}/price`, { method: 'POST' });
    const out = $('another-app-sql');
    out.hidden = false;
    out.textContent =
      status === 200
        ? `${body.sql};\n-- Postgres now says ${price(body.product.price)}. Nobody told the cache: watch the timeline.`
        : `failed: ${body?.error ?? status}`;
  } finally {
    button.disabled = false;
  }
}

async function saveEdit(event) {
  event.preventDefault();
  const id = Number($('edit-id').value);
  const payload = { name: $('edit-name').value, price: $('edit-price').value, category_id: Number($('edit-category').value) };
  const { status, body } = await api(`/products/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  $('edit-status').textContent = status === 200 ? 'Saved to Postgres. Watch the timeline.' : `Not saved: ${body?.error ?? status}`;
  $('edit-status').className = status === 200 ? 'status ok' : 'status error';
}

// ---- timeline -------------------------------------------------------------

function upsertEntry(entry) {
  state.entries.set(entry.id, entry);
  renderTimeline();
  if (entry.steps.invalidated && !state.reread.has(entry.id)) {
    state.reread.add(entry.id);
    void rereadAfterInvalidation(entry);
  }
}

/** Reads what the change invalidated, so the viewer sees MISS and then the fresh value. */
async function rereadAfterInvalidation(entry) {
  // The category lists the row was and is in: their tag was invalidated with the row.
  const lists = new Set();
  const product = /^product:(\d+)$/.exec(entry.key ?? '');
  if (product) {
    const id = Number(product[1]);
    const before = state.products.get(id)?.product.category_id;
    await readProduct(id);
    for (const c of [before, state.products.get(id)?.product.category_id]) if (c !== undefined) lists.add(c);
  }
  const category = /^category:(\d+)$/.exec(entry.key ?? '');
  if (category) {
    lists.add(Number(category[1]));
    state.categories = (await api('/categories')).body;
    renderCategoryOptions();
  }
  await Promise.all([...lists].map(readList));
  renderProducts();
}

function renderTimeline() {
  const entries = [...state.entries.values()].sort((a, b) => b.id - a.id);
  if (entries.length === 0) return;
  $('timeline').replaceChildren(...entries.map(renderEntry));
  renderHeadline(entries.find((e) => e.steps.invalidated));
}

/** The point of the demo in one sentence, for the latest invalidated change. */
function renderHeadline(entry) {
  const headline = $('headline');
  if (!entry) return;
  headline.hidden = false;
  const { invalidated, miss } = entry.steps;
  headline.replaceChildren(
    el('code', {}, entry.key ?? entry.table),
    ' invalidated ',
    el('strong', {}, `${Math.max(0, invalidated.ms)} ms`),
    ' after the commit',
    miss ? ', and the next read got the new value.' : '.',
  );
}

function renderEntry(entry) {
  const stepsDone = STEPS.filter((s) => entry.steps[s.name]);
  const maxMs = Math.max(1, ...stepsDone.map((s) => entry.steps[s.name].ms));
  const time = new Date(entry.committedAt).toLocaleTimeString([], { hour12: false });
  const row = (cls, label, where, ms, detail, stepName) =>
    el(
      'li',
      { class: `step ${cls}`, 'data-step': stepName },
      el('span', { class: 'dot' }),
      el('span', { class: 'label' }, label, where ? el('span', { class: 'where' }, where) : null),
      el('span', { class: 'bar' }, ms === null ? null : el('span', { style: `width:${Math.max(2, (100 * Math.max(0, ms)) / maxMs)}%` })),
      el('span', { class: 'ms' }, ms === null ? 'waiting…' : `+${Math.max(0, ms)} ms`),
      detail ? el('span', { class: 'detail' }, detail) : null,
    );
  return el(
    'li',
    { class: `entry${entry.steps.refilled ? ' complete' : ''}`, 'data-entry-id': String(entry.id), 'data-key': entry.key ?? '' },
    el('div', { class: 'entry-head' }, el('span', { class: 'what' }, entry.summary), el('time', {}, time)),
    el(
      'ol',
      { class: 'steps' },
      row('done committed', 'Committed', 'Postgres', 0, null, 'committed'),
      ...STEPS.map((s) => {
        const step = entry.steps[s.name];
        const label = s.badge ? [s.label, ' ', badge(s.badge)] : s.label;
        return row(step ? 'done' : 'pending', label, s.where, step ? step.ms : null, step?.detail ?? null, s.name);
      }),
    ),
    entry.alsoDeleted.length > 0 ? el('div', { class: 'also' }, 'Also deleted through tags: ', ...entry.alsoDeleted.map((k) => el('code', {}, k))) : null,
  );
}

function connectEvents() {
  const source = new EventSource('/events');
  const pill = $('stream-state');
  source.addEventListener('open', () => {
    pill.textContent = 'live';
    pill.className = 'pill live';
  });
  source.addEventListener('error', () => {
    pill.textContent = 'reconnecting…';
    pill.className = 'pill';
  });
  source.addEventListener('snapshot', (e) => {
    for (const entry of JSON.parse(e.data)) {
      // Past changes: shown, not re-read.
      state.reread.add(entry.id);
      state.entries.set(entry.id, entry);
    }
    renderTimeline();
  });
  source.addEventListener('entry', (e) => upsertEntry(JSON.parse(e.data)));
}

$('another-app').addEventListener('click', () => void anotherApp());
$('edit-form').addEventListener('submit', (e) => void saveEdit(e));
$('edit-id').addEventListener('change', () => fillEditForm());
$('reload').addEventListener('click', () => void loadAll());
connectEvents();
void loadAll();
