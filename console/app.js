/* LocalMQ management console: plain JavaScript over RabbitMQ's management API (same origin). */
'use strict';

const state = {
  auth: sessionStorage.getItem('localmq.auth'),
  user: null,
  info: null,
  timer: null,
  history: [],
};

const $ = (sel, root = document) => root.querySelector(sel);
const view = () => $('#view');
const enc = encodeURIComponent;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline styles
    else if (k === 'style') for (const decl of String(v).split(';')) { const i = decl.indexOf(':'); if (i > 0) e.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim()); }
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function setStatus(text, isError) {
  const s = $('#status');
  s.textContent = text;
  s.className = `status${isError ? ' error' : ''}`;
}

async function api(method, path, body, extraHeaders = {}) {
  const headers = { authorization: state.auth, 'x-requested-with': 'XMLHttpRequest', ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (res.status === 401 && path === 'whoami') throw new Error('Login failed');
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(json && json.reason ? `${res.status}: ${json.reason}` : `HTTP ${res.status}`);
  return json;
}

const get = (path) => api('GET', path);

// ---- vocabulary: RabbitMQ's, or ActiveMQ's on the ActiveMQ profile ------------------------

const WORDS = {
  rabbitmq: { queues: 'Queues and Streams', queue: 'Queue', ready: 'Ready', unacked: 'Unacked', total: 'Total', incoming: 'Incoming', deliver: 'Deliver / get', ack: 'Ack' },
  activemq: { queues: 'Destinations', queue: 'Destination', ready: 'Pending messages', unacked: 'In flight', total: 'Total', incoming: 'Enqueued', deliver: 'Dequeued', ack: 'Acknowledged' },
};
const words = () => WORDS[state.info && state.info.engine === 'activemq' ? 'activemq' : 'rabbitmq'];

// ---- formatting -------------------------------------------------------------------------

const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '');
const fmtRate = (d) => (d && typeof d.rate === 'number' ? `${d.rate.toFixed(1)}/s` : '');
const vhostPath = (v) => enc(v);

function table(caption, columns, rows, empty = 'Nothing to show') {
  const t = el('table', {}, el('caption', { text: caption }));
  const head = el('tr');
  for (const c of columns) head.append(el('th', { scope: 'col', class: c.n ? 'n' : null, text: c.title }));
  t.append(el('thead', {}, head));
  const body = el('tbody');
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: String(columns.length), class: 'muted', text: empty })));
  for (const r of rows) {
    const tr = el('tr');
    for (const c of columns) {
      const v = c.render(r);
      tr.append(el('td', { class: c.n ? 'n' : null }, v instanceof Node ? v : String(v ?? '')));
    }
    body.append(tr);
  }
  t.append(body);
  return t;
}

function field(label, input) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return el('label', { for: id }, label, input);
}

function checkbox(label, name, checked) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const i = el('input', { type: 'checkbox', id, name, checked });
  return el('label', { for: id }, label, i);
}

function select(name, options, value) {
  const s = el('select', { name });
  for (const o of options) s.append(el('option', { value: o, selected: o === value, text: o }));
  return s;
}

function vhostSelect(vhosts) {
  return select('vhost', vhosts.map((v) => v.name), vhosts[0] && vhosts[0].name);
}

async function act(what, fn) {
  try {
    await fn();
    setStatus(`${what}: done`);
    await render();
  } catch (err) {
    setStatus(`${what}: ${err.message}`, true);
  }
}

function parseHeaders(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// ---- charts (canvas, no dependency) --------------------------------------------------------

const COLORS = ['#ff6600', '#1f77b4', '#2ca02c', '#9467bd'];

function chart(caption, series) {
  const canvas = el('canvas', { width: '640', height: '180', role: 'img', 'aria-label': `${caption} chart` });
  const fig = el('figure', {}, el('figcaption', { text: caption }), canvas, el('div', { class: 'legend' }, series.map((s, i) => {
    const last = s.points.length ? s.points[s.points.length - 1] : 0;
    return el('span', { style: `--c:${COLORS[i]}`, text: `${s.name}: ${Number.isInteger(last) ? fmtNum(last) : last.toFixed(1)}` });
  })));
  requestAnimationFrame(() => draw(canvas, series));
  return fig;
}

function draw(canvas, series) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 640;
  const h = canvas.clientHeight || 180;
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  const top = Math.max(...series.flatMap((s) => s.points), 0);
  // four grid steps of a whole number each
  const max = top <= 4 ? 4 : Math.ceil(top / 4) * 4;
  const pad = 28;
  g.strokeStyle = '#d9dce1';
  g.fillStyle = '#6b7280';
  g.font = '11px system-ui';
  for (let i = 0; i <= 4; i++) {
    const y = pad / 2 + ((h - pad) * i) / 4;
    g.beginPath();
    g.moveTo(pad, y);
    g.lineTo(w, y);
    g.stroke();
    const label = (max * (4 - i)) / 4;
    g.fillText(Number.isInteger(label) ? String(label) : label.toFixed(1), 2, y + 4);
  }
  series.forEach((s, k) => {
    const n = s.points.length;
    if (n === 0) return;
    g.strokeStyle = COLORS[k];
    g.lineWidth = 2;
    g.beginPath();
    // one sample so far: a flat line across, until the next one comes
    const points = n === 1 ? [s.points[0], s.points[0]] : s.points;
    points.forEach((v, i) => {
      const x = pad + ((w - pad) * i) / (points.length - 1);
      const y = pad / 2 + (h - pad) * (1 - v / max);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  });
}

// ---- views ----------------------------------------------------------------------------------

async function overview() {
  const [o, info] = await Promise.all([get('overview'), get('localmq/endpoints')]);
  state.history.push({ at: Date.now(), o });
  if (state.history.length > 60) state.history.shift();
  const pick = (f) => state.history.map((h) => f(h.o) || 0);
  const t = o.object_totals;
  const q = o.queue_totals;
  const cards = el('div', { class: 'cards' }, [
    ['Connections', t.connections], ['Channels', t.channels], ['Exchanges', t.exchanges], [words().queues, t.queues], ['Consumers', t.consumers],
    [words().ready, q.messages_ready], [words().unacked, q.messages_unacknowledged], ['Total messages', q.messages],
  ].map(([k, v]) => el('div', { class: 'card' }, el('div', { class: 'k', text: k }), el('div', { class: 'v', text: fmtNum(v) }))));
  const ms = o.message_stats || {};
  const charts = el('div', { class: 'charts' },
    chart('Queued messages', [
      { name: words().ready, points: pick((x) => x.queue_totals.messages_ready) },
      { name: words().unacked, points: pick((x) => x.queue_totals.messages_unacknowledged) },
      { name: words().total, points: pick((x) => x.queue_totals.messages) },
    ]),
    chart('Message rates (per second)', [
      { name: 'Publish', points: pick((x) => x.message_stats.publish_details.rate) },
      { name: 'Confirm', points: pick((x) => x.message_stats.confirm_details.rate) },
      { name: words().deliver, points: pick((x) => x.message_stats.deliver_get_details.rate) },
      { name: words().ack, points: pick((x) => x.message_stats.ack_details.rate) },
    ]));
  const endpoints = table('Endpoints', [
    { title: 'Endpoint', render: (e) => e.name },
    { title: 'URL', render: (e) => el('span', {}, el('code', { text: e.url }), el('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${e.name} URL`, onclick: () => copy(e.url) }, 'Copy')) },
    { title: 'Port', n: true, render: (e) => e.port },
  ], info.endpoints);
  const ca = el('p', {}, 'CA file: ', info.ca_file ? el('span', {}, el('code', { text: info.ca_file }), el('button', { type: 'button', class: 'copy', 'aria-label': 'Copy CA file path', onclick: () => copy(info.ca_file) }, 'Copy')) : el('span', { class: 'muted', text: 'made on first TLS use (in memory without a data dir)' }));
  const versions = info.engine_versions || {};
  const counts = `publish ${fmtNum(ms.publish)}, delivered ${fmtNum(ms.deliver_get)}, acked ${fmtNum(ms.ack)}`;
  if (info.engine === 'activemq') {
    // ActiveMQ's console names its version in the home page's Broker table (index.jsp: Name, Version, ...)
    const broker = el('table', { class: 'broker' }, el('caption', { text: 'Broker' }), el('tbody', {},
      el('tr', {}, el('th', { scope: 'row', text: 'Version' }), el('td', { text: versions.activemq }))));
    return [
      el('h1', { text: 'Overview' }),
      el('p', { class: 'muted', text: `Apache ActiveMQ ${versions.activemq} · ${info.product_name} ${info.product_version} · ${counts}` }),
      broker, cards, charts, el('h2', { text: 'Listeners and endpoints' }), endpoints, ca,
    ];
  }
  const activemq = versions.activemq ? ` · ActiveMQ ${versions.activemq}` : '';
  return [
    el('h1', { text: 'Overview' }),
    el('p', { class: 'muted', text: `${o.product_name} ${o.product_version} · management API of RabbitMQ ${o.rabbitmq_version}${activemq} · cluster ${o.cluster_name} · node ${o.node} · ${counts}` }),
    cards, charts, el('h2', { text: 'Listeners and endpoints' }), endpoints, ca,
  ];
}

function copy(text) {
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => setStatus(`copied ${text}`), () => setStatus(text));
  else setStatus(text);
}

async function connections() {
  const list = await get('connections');
  return [
    el('h1', { text: 'Connections' }),
    table(`${list.length} connections`, [
      { title: 'Name', render: (c) => c.name },
      { title: 'Protocol', render: (c) => c.protocol },
      { title: 'User', render: (c) => c.user },
      { title: 'Client', render: (c) => c.user_provided_name || (c.client_properties && (c.client_properties.product || c.client_properties.platform)) || '' },
      { title: 'Virtual host', render: (c) => c.vhost },
      { title: 'State', render: (c) => c.state },
      { title: 'Channels', n: true, render: (c) => c.channels },
      { title: 'From client', n: true, render: (c) => fmtRate(c.recv_oct_details) },
      { title: 'To client', n: true, render: (c) => fmtRate(c.send_oct_details) },
      { title: 'Actions', render: (c) => el('button', { type: 'button', class: 'danger', 'aria-label': `Close connection ${c.name}`, onclick: () => act('close connection', () => api('DELETE', `connections/${enc(c.name)}`, undefined, { 'X-Reason': 'Closed via management console' })) }, 'Close') },
    ], list, 'No connections'),
  ];
}

async function channels() {
  const list = await get('channels');
  return [
    el('h1', { text: 'Channels' }),
    table(`${list.length} channels`, [
      { title: 'Channel', render: (c) => c.name },
      { title: 'User', render: (c) => c.user },
      { title: 'Virtual host', render: (c) => c.vhost },
      { title: 'Mode', render: (c) => [c.confirm ? 'confirm' : '', c.transactional ? 'transactional' : ''].filter(Boolean).join(', ') },
      { title: 'Prefetch', n: true, render: (c) => c.prefetch_count },
      { title: 'Consumers', n: true, render: (c) => c.consumer_count },
      { title: 'Unacked', n: true, render: (c) => c.messages_unacknowledged },
      { title: 'Unconfirmed', n: true, render: (c) => c.messages_unconfirmed },
    ], list, 'No channels'),
  ];
}

async function exchanges() {
  const [list, vhosts] = await Promise.all([get('exchanges'), get('vhosts')]);
  const form = el('form', { class: 'inline', 'aria-label': 'Add a new exchange' },
    el('fieldset', {}, el('legend', { text: 'Add a new exchange' }),
      el('div', { class: 'row' },
        field('Virtual host', vhostSelect(vhosts)), field('Name', el('input', { name: 'name', required: true })),
        field('Type', select('type', ['direct', 'fanout', 'topic', 'headers'], 'direct')),
        field('Durability', select('durable', ['Durable', 'Transient'], 'Durable')),
        el('button', { type: 'submit', class: 'primary' }, 'Add exchange'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    act('add exchange', () => api('PUT', `exchanges/${vhostPath(f.get('vhost'))}/${enc(f.get('name'))}`, { type: f.get('type'), durable: f.get('durable') === 'Durable', auto_delete: false, internal: false, arguments: {} }));
  });
  return [
    el('h1', { text: 'Exchanges' }),
    table(`${list.length} exchanges`, [
      { title: 'Virtual host', render: (x) => x.vhost },
      { title: 'Name', render: (x) => el('a', { href: `#/exchange/${vhostPath(x.vhost)}/${enc(x.name || 'amq.default')}` }, x.name || '(AMQP default)') },
      { title: 'Type', render: (x) => x.type },
      { title: 'Features', render: (x) => [x.durable ? 'D' : '', x.auto_delete ? 'AD' : '', x.internal ? 'I' : ''].filter(Boolean).join(' ') },
    ], list),
    form,
  ];
}

function publishForm(vhost, exchange, fixedKey) {
  const form = el('form', { class: 'inline', 'aria-label': 'Publish message' },
    el('fieldset', {}, el('legend', { text: 'Publish message' }),
      el('div', { class: 'row' },
        field('Routing key', el('input', { name: 'routing_key', value: fixedKey || '' })),
        field('Delivery mode', select('delivery_mode', ['1 - Non-persistent', '2 - Persistent'], '1 - Non-persistent')),
        field('Content type', el('input', { name: 'content_type' }))),
      el('div', { class: 'row' },
        field('Headers (name=value, one a line)', el('textarea', { name: 'headers' })),
        field('Payload', el('textarea', { name: 'payload' }))),
      el('div', { class: 'row' }, el('button', { type: 'submit', class: 'primary' }, 'Publish message'), el('span', { class: 'result', role: 'status' }))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const properties = { delivery_mode: Number(String(f.get('delivery_mode')).slice(0, 1)), headers: parseHeaders(String(f.get('headers'))) };
    if (f.get('content_type')) properties.content_type = f.get('content_type');
    try {
      const r = await api('POST', `exchanges/${vhostPath(vhost)}/${enc(exchange || 'amq.default')}/publish`, { routing_key: f.get('routing_key'), payload: f.get('payload'), payload_encoding: 'string', properties });
      $('.result', form).textContent = r.routed ? 'Message published.' : 'Message published, but not routed.';
    } catch (err) {
      $('.result', form).textContent = err.message;
    }
  });
  return form;
}

function bindingsTable(caption, list, vhost) {
  return table(caption, [
    { title: 'From', render: (b) => b.source || '(AMQP default)' },
    { title: 'To', render: (b) => `${b.destination_type} ${b.destination}` },
    { title: 'Routing key', render: (b) => b.routing_key },
    { title: 'Arguments', render: (b) => JSON.stringify(b.arguments) },
    { title: 'Actions', render: (b) => (b.source === '' ? '' : el('button', { type: 'button', 'aria-label': `Unbind ${b.destination} from ${b.source}`, onclick: () => act('unbind', () => api('DELETE', `bindings/${vhostPath(vhost)}/e/${enc(b.source)}/${b.destination_type === 'queue' ? 'q' : 'e'}/${enc(b.destination)}/${enc(b.properties_key)}`)) }, 'Unbind')) },
  ], list, 'No bindings');
}

function bindForm(vhost, { source, queue }) {
  const kind = select('kind', ['To queue', 'To exchange'], 'To queue');
  const form = el('form', { class: 'inline', 'aria-label': 'Add binding' },
    el('fieldset', {}, el('legend', { text: source !== undefined ? 'Add binding from this exchange' : 'Add binding to this queue' }),
      el('div', { class: 'row' },
        source !== undefined ? field('Destination type', kind) : null,
        field(source !== undefined ? 'Destination' : 'From exchange', el('input', { name: 'other', required: true })),
        field('Routing key', el('input', { name: 'routing_key' })),
        el('button', { type: 'submit', class: 'primary' }, 'Bind'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const other = String(f.get('other'));
    const path = source !== undefined
      ? `bindings/${vhostPath(vhost)}/e/${enc(source)}/${f.get('kind') === 'To exchange' ? 'e' : 'q'}/${enc(other)}`
      : `bindings/${vhostPath(vhost)}/e/${enc(other)}/q/${enc(queue)}`;
    act('bind', () => api('POST', path, { routing_key: f.get('routing_key'), arguments: {} }));
  });
  return form;
}

async function exchangePage(vhost, name) {
  const x = await get(`exchanges/${vhostPath(vhost)}/${enc(name)}`);
  const real = x.name;
  const source = real === '' ? [] : await get(`exchanges/${vhostPath(vhost)}/${enc(name)}/bindings/source`);
  return [
    el('h1', {}, 'Exchange ', el('code', { text: real || '(AMQP default)' })),
    table('Details', [{ title: 'Virtual host', render: () => x.vhost }, { title: 'Type', render: () => x.type }, { title: 'Durable', render: () => String(x.durable) }, { title: 'Arguments', render: () => JSON.stringify(x.arguments) }], [x]),
    el('h2', { text: 'Bindings' }),
    real === '' ? el('p', { class: 'muted', text: 'The default exchange is implicitly bound to every queue, with a routing key equal to the queue name.' }) : bindingsTable('Bindings from this exchange', source, vhost),
    real === '' ? null : bindForm(vhost, { source: real }),
    publishForm(vhost, real),
    real === '' || real.startsWith('amq.') ? null : el('button', { type: 'button', class: 'danger', onclick: () => act('delete exchange', async () => { await api('DELETE', `exchanges/${vhostPath(vhost)}/${enc(real)}`); location.hash = '#/exchanges'; }) }, 'Delete this exchange'),
  ];
}

async function queues() {
  const [list, vhosts] = await Promise.all([get('queues'), get('vhosts')]);
  const w = words();
  const form = el('form', { class: 'inline', 'aria-label': `Add a new ${w.queue.toLowerCase()}` },
    el('fieldset', {}, el('legend', { text: `Add a new ${w.queue.toLowerCase()}` }),
      el('div', { class: 'row' },
        field('Virtual host', vhostSelect(vhosts)), field('Type', select('type', ['classic', 'quorum', 'stream'], 'classic')),
        field('Name', el('input', { name: 'name', required: true })),
        field('Durability', select('durable', ['Durable', 'Transient'], 'Durable')),
        field('Arguments (JSON)', el('input', { name: 'arguments', placeholder: '{"x-max-length": 1000}' })),
        el('button', { type: 'submit', class: 'primary' }, `Add ${w.queue.toLowerCase()}`))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    act(`add ${w.queue.toLowerCase()}`, () => {
      const args = f.get('arguments') ? JSON.parse(String(f.get('arguments'))) : {};
      return api('PUT', `queues/${vhostPath(f.get('vhost'))}/${enc(f.get('name'))}`, { durable: f.get('durable') === 'Durable', auto_delete: false, arguments: args, type: f.get('type') });
    });
  });
  const stats = (q, k) => q.message_stats && q.message_stats[k];
  return [
    el('h1', { text: w.queues }),
    table(`${list.length} ${w.queues.toLowerCase()}`, [
      { title: 'Virtual host', render: (q) => q.vhost },
      { title: 'Name', render: (q) => el('a', { href: `#/queue/${vhostPath(q.vhost)}/${enc(q.name)}` }, q.name) },
      { title: 'Type', render: (q) => q.type },
      { title: 'Policy', render: (q) => q.policy || '' },
      { title: 'State', render: (q) => q.state },
      { title: w.ready, n: true, render: (q) => fmtNum(q.messages_ready) },
      { title: w.unacked, n: true, render: (q) => fmtNum(q.messages_unacknowledged) },
      { title: w.total, n: true, render: (q) => fmtNum(q.messages) },
      { title: 'Consumers', n: true, render: (q) => q.consumers },
      // ActiveMQ's console counts what went through (Messages Enqueued / Dequeued); RabbitMQ's shows rates
      ...(state.info.engine === 'activemq' ? [
        { title: 'Messages enqueued', n: true, render: (q) => fmtNum(stats(q, 'publish') || 0) },
        { title: 'Messages dequeued', n: true, render: (q) => fmtNum(stats(q, 'ack') || 0) },
      ] : []),
      { title: `${w.incoming} rate`, n: true, render: (q) => fmtRate(stats(q, 'publish_details')) },
      { title: `${w.deliver} rate`, n: true, render: (q) => fmtRate(stats(q, 'deliver_get_details')) },
      { title: `${w.ack} rate`, n: true, render: (q) => fmtRate(stats(q, 'ack_details')) },
      { title: 'Actions', render: (q) => el('span', {},
        el('button', { type: 'button', 'aria-label': `Purge ${q.name}`, onclick: () => act('purge', () => api('DELETE', `queues/${vhostPath(q.vhost)}/${enc(q.name)}/contents`)) }, 'Purge'), ' ',
        el('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${q.name}`, onclick: () => act('delete', () => api('DELETE', `queues/${vhostPath(q.vhost)}/${enc(q.name)}`)) }, 'Delete')) },
    ], list),
    form,
  ];
}

async function queuePage(vhost, name) {
  const w = words();
  const [q, bindings] = await Promise.all([get(`queues/${vhostPath(vhost)}/${enc(name)}`), get(`queues/${vhostPath(vhost)}/${enc(name)}/bindings`)]);
  const results = el('div', { class: 'messages', 'aria-live': 'polite' });
  const getForm = el('form', { class: 'inline', 'aria-label': 'Get messages' },
    el('fieldset', {}, el('legend', { text: 'Get messages' }),
      el('div', { class: 'row' },
        field('Ack mode', select('ackmode', ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'], 'ack_requeue_true')),
        field('Encoding', select('encoding', ['auto', 'base64'], 'auto')),
        field('Messages', el('input', { name: 'count', type: 'number', min: '1', value: '1' })),
        el('button', { type: 'submit', class: 'primary' }, 'Get Message(s)'))), results);
  getForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(getForm);
    pause(true);
    try {
      const msgs = await api('POST', `queues/${vhostPath(vhost)}/${enc(name)}/get`, { count: Number(f.get('count')), ackmode: f.get('ackmode'), encoding: f.get('encoding'), truncate: 50000 });
      results.replaceChildren(...(msgs.length ? msgs.map((m, i) => el('div', { class: 'message' },
        el('strong', { text: `Message ${i + 1}` }), ` · exchange ${m.exchange || '(AMQP default)'} · routing key ${m.routing_key} · redelivered ${m.redelivered} · ${m.message_count} left`,
        el('div', { class: 'mono', text: `properties ${JSON.stringify(m.properties)}` }),
        el('pre', { class: 'payload', text: m.payload }))) : [el('p', { text: 'Queue is empty' })]));
      await render();
    } catch (err) {
      results.replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  });
  const consumers = table('Consumers', [
    { title: 'Channel', render: (c) => c.channel_details.name },
    { title: 'Consumer tag', render: (c) => c.consumer_tag },
    { title: 'Ack required', render: (c) => String(c.ack_required) },
    { title: 'Exclusive', render: (c) => String(c.exclusive) },
    { title: 'Prefetch', n: true, render: (c) => c.prefetch_count },
    { title: 'Active', render: (c) => c.activity_status },
  ], q.consumer_details || [], 'No consumers');
  return [
    el('h1', {}, `${w.queue} `, el('code', { text: q.name })),
    table('Details', [
      { title: 'Virtual host', render: () => q.vhost }, { title: 'Type', render: () => q.type },
      { title: 'Features', render: () => [q.durable ? 'durable' : 'transient', q.exclusive ? 'exclusive' : '', q.auto_delete ? 'auto-delete' : ''].filter(Boolean).join(', ') },
      { title: 'Arguments', render: () => JSON.stringify(q.arguments) }, { title: 'Policy', render: () => q.policy || '' },
      { title: w.ready, n: true, render: () => fmtNum(q.messages_ready) }, { title: w.unacked, n: true, render: () => fmtNum(q.messages_unacknowledged) },
      { title: w.total, n: true, render: () => fmtNum(q.messages) }, { title: 'Consumers', n: true, render: () => q.consumers },
    ], [q]),
    el('h2', { text: 'Consumers' }), consumers,
    el('h2', { text: 'Bindings' }), bindingsTable('Bindings to this queue', bindings, vhost), bindForm(vhost, { queue: q.name }),
    publishForm(vhost, '', q.name),
    getForm,
    el('div', { class: 'row' },
      el('button', { type: 'button', onclick: () => act('purge', () => api('DELETE', `queues/${vhostPath(vhost)}/${enc(name)}/contents`)) }, 'Purge Messages'),
      el('button', { type: 'button', class: 'danger', onclick: () => act('delete', async () => { await api('DELETE', `queues/${vhostPath(vhost)}/${enc(name)}`); location.hash = '#/queues'; }) }, `Delete ${w.queue}`)),
  ];
}

async function admin() {
  const isAdmin = state.user.tags.includes('administrator');
  if (!isAdmin) return [el('h1', { text: 'Admin' }), el('p', { text: 'Only administrators see users, virtual hosts, permissions and definitions.' })];
  const [users, vhosts, perms, policies] = await Promise.all([get('users'), get('vhosts'), get('permissions'), get('policies')]);
  const userForm = el('form', { class: 'inline', 'aria-label': 'Add a user' }, el('fieldset', {}, el('legend', { text: 'Add / update a user' }), el('div', { class: 'row' },
    field('Username', el('input', { name: 'name', required: true })), field('Password', el('input', { name: 'password', type: 'password', required: true })),
    field('Tags (comma separated)', el('input', { name: 'tags', placeholder: 'administrator' })), el('button', { type: 'submit', class: 'primary' }, 'Add user'))));
  userForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(userForm);
    act('add user', () => api('PUT', `users/${enc(f.get('name'))}`, { password: f.get('password'), tags: String(f.get('tags')) }));
  });
  const vhostForm = el('form', { class: 'inline', 'aria-label': 'Add a virtual host' }, el('fieldset', {}, el('legend', { text: 'Add a virtual host' }), el('div', { class: 'row' },
    field('Name', el('input', { name: 'name', required: true })), field('Description', el('input', { name: 'description' })), el('button', { type: 'submit', class: 'primary' }, 'Add virtual host'))));
  vhostForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(vhostForm);
    act('add vhost', () => api('PUT', `vhosts/${enc(f.get('name'))}`, { description: f.get('description') }));
  });
  const permForm = el('form', { class: 'inline', 'aria-label': 'Set permission' }, el('fieldset', {}, el('legend', { text: 'Set permission' }), el('div', { class: 'row' },
    field('User', select('user', users.map((u) => u.name), users[0] && users[0].name)), field('Virtual host', vhostSelect(vhosts)),
    field('Configure regexp', el('input', { name: 'configure', value: '.*' })), field('Write regexp', el('input', { name: 'write', value: '.*' })), field('Read regexp', el('input', { name: 'read', value: '.*' })),
    el('button', { type: 'submit', class: 'primary' }, 'Set permission'))));
  permForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(permForm);
    act('set permission', () => api('PUT', `permissions/${vhostPath(f.get('vhost'))}/${enc(f.get('user'))}`, { configure: f.get('configure'), write: f.get('write'), read: f.get('read') }));
  });
  const policyForm = el('form', { class: 'inline', 'aria-label': 'Add a policy' }, el('fieldset', {}, el('legend', { text: 'Add / update a policy' }), el('div', { class: 'row' },
    field('Virtual host', vhostSelect(vhosts)), field('Name', el('input', { name: 'name', required: true })), field('Pattern', el('input', { name: 'pattern', required: true, placeholder: '^orders\\.' })),
    field('Apply to', select('apply', ['queues', 'exchanges', 'all', 'classic_queues', 'quorum_queues', 'streams'], 'queues')), field('Priority', el('input', { name: 'priority', type: 'number', value: '0' })),
    field('Definition (JSON)', el('input', { name: 'definition', required: true, placeholder: '{"message-ttl": 60000}' })), el('button', { type: 'submit', class: 'primary' }, 'Add policy'))));
  policyForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(policyForm);
    act('add policy', () => api('PUT', `policies/${vhostPath(f.get('vhost'))}/${enc(f.get('name'))}`, { pattern: f.get('pattern'), 'apply-to': f.get('apply'), priority: Number(f.get('priority')), definition: JSON.parse(String(f.get('definition'))) }));
  });
  const importInput = el('input', { type: 'file', accept: 'application/json,.json', name: 'file' });
  const defs = el('fieldset', {}, el('legend', { text: 'Definitions' }), el('div', { class: 'row' },
    el('button', { type: 'button', onclick: exportDefinitions }, 'Download broker definitions'),
    field('Import definitions file', importInput),
    el('button', { type: 'button', onclick: () => act('import definitions', async () => { const file = importInput.files[0]; if (!file) throw new Error('choose a file'); await api('POST', 'definitions', JSON.parse(await file.text())); }) }, 'Upload broker definitions')));
  return [
    el('h1', { text: 'Admin' }),
    el('h2', { text: 'Users' }),
    table(`${users.length} users`, [
      { title: 'Name', render: (u) => u.name }, { title: 'Tags', render: (u) => u.tags.join(', ') },
      { title: 'Can access virtual hosts', render: (u) => perms.filter((p) => p.user === u.name).map((p) => p.vhost).join(', ') || 'No access' },
      { title: 'Actions', render: (u) => (u.name === state.user.name ? '' : el('button', { type: 'button', class: 'danger', 'aria-label': `Delete user ${u.name}`, onclick: () => act('delete user', () => api('DELETE', `users/${enc(u.name)}`)) }, 'Delete')) },
    ], users), userForm,
    el('h2', { text: 'Virtual hosts' }),
    table(`${vhosts.length} virtual hosts`, [
      { title: 'Name', render: (v) => v.name }, { title: 'Description', render: (v) => v.description }, { title: 'Messages', n: true, render: (v) => fmtNum(v.messages) },
      { title: 'Actions', render: (v) => (v.name === '/' ? '' : el('button', { type: 'button', class: 'danger', 'aria-label': `Delete virtual host ${v.name}`, onclick: () => act('delete vhost', () => api('DELETE', `vhosts/${enc(v.name)}`)) }, 'Delete')) },
    ], vhosts), vhostForm,
    el('h2', { text: 'Permissions' }),
    table(`${perms.length} permissions`, [
      { title: 'User', render: (p) => p.user }, { title: 'Virtual host', render: (p) => p.vhost },
      { title: 'Configure', render: (p) => p.configure }, { title: 'Write', render: (p) => p.write }, { title: 'Read', render: (p) => p.read },
      { title: 'Actions', render: (p) => el('button', { type: 'button', 'aria-label': `Clear permission of ${p.user} in ${p.vhost}`, onclick: () => act('clear permission', () => api('DELETE', `permissions/${vhostPath(p.vhost)}/${enc(p.user)}`)) }, 'Clear') },
    ], perms), permForm,
    el('h2', { text: 'Policies' }),
    table(`${policies.length} policies`, [
      { title: 'Virtual host', render: (p) => p.vhost }, { title: 'Name', render: (p) => p.name }, { title: 'Pattern', render: (p) => p.pattern },
      { title: 'Apply to', render: (p) => p['apply-to'] }, { title: 'Definition', render: (p) => JSON.stringify(p.definition) }, { title: 'Priority', n: true, render: (p) => p.priority },
      { title: 'Actions', render: (p) => el('button', { type: 'button', class: 'danger', 'aria-label': `Delete policy ${p.name}`, onclick: () => act('delete policy', () => api('DELETE', `policies/${vhostPath(p.vhost)}/${enc(p.name)}`)) }, 'Delete') },
    ], policies, 'No policies'), policyForm,
    el('h2', { text: 'Definitions' }), defs,
  ];
}

async function exportDefinitions() {
  try {
    const defs = await get('definitions');
    const url = URL.createObjectURL(new Blob([JSON.stringify(defs, null, 2)], { type: 'application/json' }));
    const a = el('a', { href: url, download: 'localmq-definitions.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    setStatus('definitions exported');
  } catch (err) {
    setStatus(`export: ${err.message}`, true);
  }
}

// ---- routing, refresh, sign-in ------------------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'connections': return { tab: 'connections', render: connections };
    case 'channels': return { tab: 'channels', render: channels };
    case 'exchanges': return { tab: 'exchanges', render: exchanges };
    case 'exchange': return { tab: 'exchanges', render: () => exchangePage(parts[1], parts.slice(2).join('/')), detail: true };
    case 'queues': return { tab: 'queues', render: queues };
    case 'queue': return { tab: 'queues', render: () => queuePage(parts[1], parts.slice(2).join('/')), detail: true };
    case 'admin': return { tab: 'admin', render: admin };
    default: return { tab: 'overview', render: overview };
  }
}

let rendering = false;
async function render() {
  if (!state.user || rendering) return;
  rendering = true;
  const r = route();
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === r.tab) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    const content = await r.render();
    // keep what the user is typing: forms are rebuilt only when the page changes
    const focused = document.activeElement && view().contains(document.activeElement) && document.activeElement.matches('input, textarea, select');
    if (!(focused && view().dataset.route === location.hash)) {
      const messages = view().dataset.route === location.hash ? view().querySelector('.messages') : null;
      view().replaceChildren(...content.filter(Boolean));
      const fresh = view().querySelector('.messages');
      if (messages && fresh) fresh.replaceWith(messages);
      view().dataset.route = location.hash;
    }
    setStatus(`updated ${new Date().toLocaleTimeString()}${state.timer ? '' : ' · auto-refresh paused'}`);
  } catch (err) {
    setStatus(`refresh failed: ${err.message}`, true);
  } finally {
    rendering = false;
  }
}

function pause(paused) {
  $('#auto-refresh').checked = !paused;
  schedule();
}

function schedule() {
  if (state.timer) clearInterval(state.timer);
  state.timer = $('#auto-refresh').checked ? setInterval(render, 5000) : null;
}

async function signIn(auth) {
  state.auth = auth;
  const me = await api('GET', 'whoami');
  state.user = me;
  state.info = await get('localmq/endpoints');
  sessionStorage.setItem('localmq.auth', auth);
  $('#login').hidden = true;
  $('#tabs').hidden = false;
  $('#session').hidden = false;
  $('#whoami').textContent = me.name;
  $('#version').textContent = state.info.product_version;
  $('#queues-tab').textContent = words().queues;
  schedule();
  await render();
}

function showLogin(message) {
  state.user = null;
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  sessionStorage.removeItem('localmq.auth');
  $('#login').hidden = false;
  $('#tabs').hidden = true;
  $('#session').hidden = true;
  view().replaceChildren();
  $('#login-error').textContent = message || '';
  $('#username').focus();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const auth = `Basic ${btoa(unescape(encodeURIComponent(`${$('#username').value}:${$('#password').value}`)))}`;
  try {
    await signIn(auth);
  } catch (err) {
    showLogin(err.message === 'Login failed' ? 'Login failed' : err.message);
  }
});
$('#sign-out').addEventListener('click', () => showLogin());
$('#auto-refresh').addEventListener('change', () => { schedule(); setStatus($('#auto-refresh').checked ? 'auto-refresh on' : 'auto-refresh paused'); });
window.addEventListener('hashchange', () => { view().dataset.route = ''; render(); $('#main').focus(); });

if (state.auth) signIn(state.auth).catch(() => showLogin());
else showLogin();
