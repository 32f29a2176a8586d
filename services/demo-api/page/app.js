// The live demo page: plain browser JavaScript, no build step, no network beyond this API.

const STEPS = [
  { name: 'seen', label: 'Change event seen', where: 'Kafka' },
  { name: 'invalidated', label: 'Key invalidated', where: 'Redis' },
  // Only with a Varnish in front of the API (GET /demo says varnish: true).
  { name: 'varnish', label: 'Page purged', where: 'Varnish', tier: 'varnish' },
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
  /** entry id -> the timer that re-reads it anyway when this instance's L1 drop does not come */
  rereadTimers: new Map(),
  /** GET /demo: { instance, l1, peer, redisOutage, redisFigures, varnish } */
  demo: { instance: 'A', peer: false, redisOutage: false, varnish: false },
  /** product id -> { outcome (x-varnish-cache), price } of the last read through the Varnish in front */
  varnishOutcomes: new Map(),
  /** entries whose Varnish purge already triggered a read through Varnish */
  varnishReread: new Set(),
  /** instance name -> its latest report (cache counters, breaker, L1) */
  instances: new Map(),
  /** product id -> X-Cache of the last read through instance B */
  peerOutcomes: new Map(),
  /** { instance, key, at } as each instance's L1 dropped a key, newest last */
  l1Drops: [],
  /** the Redis outage in progress or last run */
  outage: null,
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
  // varnish: the X-Varnish-Cache of a read through the Varnish in front (/varnish/...).
  return { status: res.status, outcome: res.headers.get('x-cache'), tier: res.headers.get('x-cache-tier'), varnish: res.headers.get('x-varnish-cache'), body };
}

const badge = (outcome, tier) =>
  outcome ? el('span', { class: `badge ${outcome.toLowerCase()}`, title: tier ? `from ${tier === 'l1' ? "this instance's L1" : 'Redis'}` : null }, tier === 'l1' ? 'HIT L1' : outcome) : el('span', { class: 'badge none' }, '—');
const varnishBadge = (read) =>
  read ? el('span', { class: `pbadge vbadge ${read.outcome.toLowerCase()}`, 'data-price': read.price, title: `the same read through the Varnish in front of the API (x-varnish-cache): ${price(read.price)}` }, `Varnish ${read.outcome}`) : null;
/** The timeline's steps this page shows: the Varnish one only with a Varnish in front. */
const shownSteps = () => STEPS.filter((s) => !s.tier || state.demo[s.tier]);
const peerBadge = (read) => (read ? el('span', { class: `pbadge ${read.outcome.toLowerCase()}`, title: 'the same read through instance B' }, `B ${read.tier === 'l1' ? 'HIT L1' : read.outcome}`) : null);
const clock = (at) => {
  const d = new Date(at);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};
const price = (text) => `€ ${text}`;

// ---- products -------------------------------------------------------------

async function readProduct(id) {
  const { status, outcome, tier, body } = await api(`/products/${id}`);
  if (status === 404) state.products.delete(id); // deleted in Postgres
  if (status !== 200) return renderProducts();
  const before = state.products.get(id)?.product;
  const changed = before !== undefined && (before.price !== body.price || before.name !== body.name || before.category_id !== body.category_id);
  const entry = { product: body, outcome, tier, changed };
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
  await readThroughPeer(ids, categories.map((c) => c.id));
  await readThroughVarnish(ids);
  if (state.selectedId === null && ids.length > 0) select(ids[0]);
  renderProducts();
  renderCategoryOptions();
}

/** The same reads through instance B (relayed by A), so B's L1 holds the keys too. */
async function readThroughPeer(productIds, categoryIds) {
  if (!state.demo.peer) return;
  await Promise.all([
    ...productIds.map(async (id) => {
      const { status, outcome, tier } = await api(`/peer/products/${id}`);
      if (status === 200) state.peerOutcomes.set(id, { outcome, tier });
    }),
    ...categoryIds.map((id) => api(`/peer/categories/${id}/products`)),
  ]);
  renderProducts();
}

/** The same reads through the Varnish in front of the API (relayed by it: same origin). */
async function readThroughVarnish(productIds) {
  if (!state.demo.varnish) return;
  await Promise.all(
    productIds.map(async (id) => {
      const { status, varnish, body } = await api(`/varnish/products/${id}`);
      if (status === 200 && varnish && body) state.varnishOutcomes.set(id, { outcome: varnish, price: body.price });
    }),
  );
  renderProducts();
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
    for (const { product, outcome, tier, changed } of products) {
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
          el('td', {}, badge(outcome, tier), peerBadge(state.peerOutcomes.get(product.id)), varnishBadge(state.varnishOutcomes.get(product.id))),
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
  maybeReread(entry);
  // Through Varnish only once Redis dropped the key too: a Varnish miss before that could fetch
  // the old value from Redis and keep it.
  const product = /^product:(\d+)$/.exec(entry.key ?? '');
  if (product && entry.steps.varnish && entry.steps.invalidated && !state.varnishReread.has(entry.id)) {
    state.varnishReread.add(entry.id);
    void readThroughVarnish([Number(product[1])]);
  }
}

/**
 * Once Redis invalidated an entry's key, read it again: once this instance's L1 dropped it too
 * (its drop comes through Redis' tracking a few ms after the deletion, and a read before it is
 * still an L1 hit of the old value), or a second after the deletion (an L1 that never held the key
 * drops nothing). Called with every entry update and every L1 drop.
 */
function maybeReread(entry) {
  if (!entry.steps.invalidated || state.reread.has(entry.id)) return;
  const l1Dropped = !state.demo.l1 || l1DropsOf(entry).some((d) => d.instance === state.demo.instance);
  if (!l1Dropped) {
    if (!state.rereadTimers.has(entry.id)) state.rereadTimers.set(entry.id, setTimeout(() => rereadNow(entry.id), 1_000));
    return;
  }
  rereadNow(entry.id);
}

function rereadNow(id) {
  const entry = state.entries.get(id);
  clearTimeout(state.rereadTimers.get(id));
  state.rereadTimers.delete(id);
  if (!entry || state.reread.has(id)) return;
  state.reread.add(id);
  void rereadAfterInvalidation(entry);
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
    await readThroughPeer([id], []);
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
  const { invalidated, miss, varnish } = entry.steps;
  headline.replaceChildren(
    el('code', {}, entry.key ?? entry.table),
    ' invalidated ',
    el('strong', {}, `${Math.max(0, invalidated.ms)} ms`),
    ' after the commit',
    ...(varnish && state.demo.varnish ? [', its page purged from Varnish after ', el('strong', {}, `${Math.max(0, varnish.ms)} ms`)] : []),
    miss ? ', and the next read got the new value.' : '.',
  );
}

function renderEntry(entry) {
  const steps = shownSteps();
  const stepsDone = steps.filter((s) => entry.steps[s.name]);
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
      ...steps.map((s) => {
        const step = entry.steps[s.name];
        const label = s.badge ? [s.label, ' ', badge(s.badge)] : s.label;
        return row(step ? 'done' : 'pending', label, s.where, step ? step.ms : null, step?.detail ?? null, s.name);
      }),
      ...l1DropsOf(entry).map((d) => row('done l1', `L1 dropped in ${d.instance}`, `instance ${d.instance}`, d.ms, null, `l1-${d.instance}`)),
    ),
    entry.alsoDeleted.length > 0 ? el('div', { class: 'also' }, 'Also deleted through tags: ', ...entry.alsoDeleted.map((k) => el('code', {}, k))) : null,
  );
}

// ---- instances and L1 ------------------------------------------------------

/** The first drop of the entry's key by each instance after its commit, in ms since the commit. */
function l1DropsOf(entry) {
  const first = new Map();
  for (const d of state.l1Drops) {
    if (d.key !== entry.key || d.at < entry.committedAt - 50 || d.at > entry.committedAt + 60_000 || first.has(d.instance)) continue;
    first.set(d.instance, { instance: d.instance, ms: d.at - entry.committedAt });
  }
  return [...first.values()].sort((a, b) => a.instance.localeCompare(b.instance));
}

/** The latest timeline entry a drop belongs to (its key, or a key deleted through its tags). */
function entryOfDrop(drop) {
  return [...state.entries.values()]
    .filter((e) => (e.key === drop.key || e.alsoDeleted.includes(drop.key)) && drop.at >= e.committedAt - 50 && drop.at <= e.committedAt + 60_000)
    .sort((a, b) => b.committedAt - a.committedAt)[0];
}

function renderL1Log() {
  const drops = state.l1Drops.slice(-40).reverse();
  if (drops.length === 0) return;
  $('l1-log').replaceChildren(
    ...drops.map((d) => {
      const entry = d.key ? entryOfDrop(d) : undefined;
      const ms = entry ? d.at - entry.committedAt : null;
      return el(
        'li',
        { 'data-instance': d.instance, 'data-key': d.key ?? '', 'data-ms': ms === null ? null : String(ms) },
        el('span', { class: 'inst' }, d.instance),
        d.key ? el('code', {}, d.key) : el('span', {}, `whole L1 flushed (${d.flush}, ${d.entries} entries)`),
        el('time', { class: 'muted' }, clock(d.at)),
        el('span', { class: 'ms' }, ms === null ? '' : `+${Math.max(0, ms)} ms after the commit`),
      );
    }),
  );
}

const ratio = (part, whole) => (whole > 0 ? `${Math.round((100 * part) / whole)} %` : '—');

function renderInstances() {
  const rows = [...state.instances.values()].sort((a, b) => a.instance.localeCompare(b.instance)).map((r) => {
    const reads = r.l1Hits + r.hits + r.misses + r.degraded;
    return el(
      'tr',
      { 'data-instance': r.instance, 'data-breaker': r.breaker },
      el('td', {}, el('strong', {}, r.instance), r.instance === state.demo.instance ? el('span', { class: 'muted' }, ' (this page)') : null),
      el('td', {}, r.l1 ? `${r.l1.entries} entries, ${r.l1.tracking ? 'tracking' : 'not tracking'}` : 'off'),
      el('td', { class: 'num' }, ratio(r.l1Hits, reads)),
      el('td', { class: 'num' }, ratio(r.hits, r.hits + r.misses)),
      el('td', { class: 'num' }, String(r.degraded)),
      el('td', { class: `breaker-${r.breaker}` }, r.breaker),
    );
  });
  if (rows.length > 0) $('instance-rows').replaceChildren(...rows);
  $('instances-note').textContent = state.demo.peer ? '' : 'one instance (no DEMO_PEER_URL)';
  if (state.outage) renderOutage();
}

// ---- Redis panel (evictd's Redis INFO figures) -------------------------------

const bytes = (n) => {
  if (n === null || n === undefined) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
};

/** A `redis` event: { ok, at, usedMemoryBytes, maxmemoryBytes, maxmemoryPolicy, evictionsPerSecond, hitRatio } or { ok: false, error }. */
function renderRedis(report) {
  const panel = $('redis-panel');
  if (!report) {
    panel.dataset.state = 'unavailable';
    for (const id of ['redis-memory', 'redis-evictions', 'redis-hit-ratio']) $(id).textContent = '—';
    $('redis-status').textContent = 'Not available: this instance has no EVICTD_METRICS_URL (evictd\'s HTTP address).';
    return;
  }
  if (!report.ok) {
    // The last figures stay; the failure is said below them.
    panel.dataset.state = 'failed';
    $('redis-status').textContent = `${report.error} (${clock(report.at)})`;
    return;
  }
  panel.dataset.state = 'ok';
  const limit = report.maxmemoryBytes ? `of ${bytes(report.maxmemoryBytes)}` : 'no limit';
  $('redis-memory').textContent = `${bytes(report.usedMemoryBytes)} / ${limit}`;
  $('redis-memory').dataset.bytes = String(report.usedMemoryBytes ?? '');
  $('redis-memory').title = `used_memory ${report.usedMemoryBytes} B; maxmemory ${report.maxmemoryBytes ?? '?'} B, policy ${report.maxmemoryPolicy ?? '?'}`;
  $('redis-evictions').textContent = report.evictionsPerSecond === null ? '…' : `${report.evictionsPerSecond.toFixed(report.evictionsPerSecond < 10 ? 1 : 0)} keys/s`;
  $('redis-hit-ratio').textContent = report.hitRatio === null ? '—' : `${Math.round(100 * report.hitRatio)} %`;
  $('redis-hit-ratio').title = `keyspace hits ${report.keyspaceHits ?? '?'}, misses ${report.keyspaceMisses ?? '?'} (all clients, since Redis started)`;
  $('redis-status').textContent = `policy ${report.maxmemoryPolicy ?? '?'} · ${clock(report.at)}`;
}

// ---- Redis outage -----------------------------------------------------------

async function startOutage() {
  const button = $('redis-outage');
  button.disabled = true;
  // The record exists before the request: the outage's first steps can come over the event stream
  // before the button's answer does.
  const outage = { clickedAt: Date.now(), steps: {}, reads: [], done: false };
  state.outage = outage;
  $('outage-log').replaceChildren();
  const { status, body } = await api('/demo/redis-outage?seconds=5', { method: 'POST' });
  if (status !== 202) {
    state.outage = null;
    $('outage-status').textContent = `not started: ${body?.error ?? status}`;
    button.disabled = false;
    return;
  }
  renderOutage();
  void pollDuringOutage(outage);
}

/** Reads the selected product every 250 ms until Redis is back and the breaker closed. */
async function pollDuringOutage(outage) {
  const id = state.selectedId ?? 1;
  while (!outage.done) {
    const began = performance.now();
    // A bounded wait: a read that hangs shows as an error instead of stopping the polling.
    const { status, outcome, tier } = await api(`/products/${id}`, { signal: AbortSignal.timeout(5000) }).catch(() => ({ status: 0, outcome: null, tier: null }));
    const read = { at: Date.now(), status, outcome, tier, ms: Math.round(performance.now() - began) };
    outage.reads.push(read);
    $('outage-log').prepend(
      el('li', { 'data-outcome': outcome ?? 'error', 'data-status': String(status) }, el('time', { class: 'muted' }, `+${((read.at - outage.clickedAt) / 1000).toFixed(1)} s`), badge(status === 200 ? outcome : 'ERROR', tier), el('span', {}, status === 200 ? `200 in ${read.ms} ms` : `HTTP ${status}`)),
    );
    const breaker = state.instances.get(state.demo.instance)?.breaker;
    if (outage.steps.started && status === 200 && outcome !== 'DEGRADED' && breaker === 'closed') outage.done = true;
    renderOutage();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  $('redis-outage').disabled = false;
}

function onOutageEvent(e) {
  const step = JSON.parse(e.data);
  if (!state.outage) state.outage = { clickedAt: step.at, steps: {}, reads: [], done: true };
  state.outage.steps[step.state] = step;
  if (step.state === 'failed') state.outage.done = true;
  renderOutage();
}

function renderOutage() {
  const o = state.outage;
  const status = $('outage-status');
  if (!o) return;
  const degraded = o.reads.filter((r) => r.status === 200 && r.outcome === 'DEGRADED');
  const errors = o.reads.filter((r) => r.status !== 200).length;
  const breaker = state.instances.get(state.demo.instance)?.breaker ?? '?';
  const windowMs = degraded.length > 0 ? degraded[degraded.length - 1].at - degraded[0].at : 0;
  let state_ = 'stopping';
  let text = 'Stopping Redis…';
  if (o.steps.failed) [state_, text] = ['failed', `failed: ${o.steps.failed.error}`];
  else if (o.done && o.steps.started) {
    state_ = 'recovered';
    const { at, began, stoppedAt } = o.steps.started;
    text = `Recovered: Redis back after ${((at - (stoppedAt ?? began)) / 1000).toFixed(1)} s, breaker ${breaker}; ${degraded.length} reads answered from Postgres (DEGRADED) over ${windowMs} ms, ${errors} errors.`;
  } else if (degraded.length > 0 || o.steps.stopped) {
    state_ = 'degraded';
    text = `${o.steps.started ? 'Redis is back, waiting for the breaker to close' : 'Redis is down'}: the API still answers, ${degraded.length} reads from Postgres (DEGRADED), ${errors} errors; breaker ${breaker}.`;
  }
  status.dataset.state = state_;
  status.textContent = text;
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
      state.varnishReread.add(entry.id);
      state.entries.set(entry.id, entry);
    }
    renderTimeline();
  });
  source.addEventListener('entry', (e) => {
    upsertEntry(JSON.parse(e.data));
    renderL1Log();
  });
  source.addEventListener('instance', (e) => {
    const report = JSON.parse(e.data);
    state.instances.set(report.instance, report);
    renderInstances();
  });
  source.addEventListener('l1', (e) => {
    state.l1Drops.push(JSON.parse(e.data));
    if (state.l1Drops.length > 500) state.l1Drops.splice(0, 100);
    renderL1Log();
    renderTimeline();
    for (const entry of state.entries.values()) maybeReread(entry);
  });
  source.addEventListener('redis-outage', onOutageEvent);
  source.addEventListener('redis', (e) => renderRedis(JSON.parse(e.data)));
}

async function loadDemoInfo() {
  const { status, body } = await api('/demo');
  if (status === 200 && body) state.demo = { ...state.demo, ...body };
  $('outage').hidden = !state.demo.redisOutage;
  $('outage-unavailable').hidden = state.demo.redisOutage;
  if (!state.demo.redisFigures) renderRedis(null);
  $('legend-varnish').hidden = !state.demo.varnish;
  // Entries may have arrived before this answer: show or hide their Varnish step.
  renderTimeline();
}

$('another-app').addEventListener('click', () => void anotherApp());
$('edit-form').addEventListener('submit', (e) => void saveEdit(e));
$('edit-id').addEventListener('change', () => fillEditForm());
$('reload').addEventListener('click', () => void loadAll());
$('redis-outage').addEventListener('click', () => void startOutage());
connectEvents();
void loadDemoInfo().then(loadAll);
