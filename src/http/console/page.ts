import type { ManagementBackend } from '../backend.js';
import { PRODUCT } from '../../server/product.js';
import { sendHtml, type Route } from '../management/http-util.js';

/**
 * GET /: a one-page console. The page itself needs Basic auth, so the browser asks for
 * credentials once and then sends them with the page's same-origin API calls; endpoints
 * are fixed once the broker listens, so they are written into the page, while queues,
 * connections and exchanges come from the API and refresh every 5 s. No dependencies.
 */
export function consoleRoutes(broker: ManagementBackend): Route[] {
  return [{ method: 'GET', path: '/', tag: 'management', handle: (_req, res) => sendHtml(res, consolePage(broker)) }];
}

function consolePage(broker: ManagementBackend): string {
  const endpoints = broker.endpoints.map((e) => `<tr><td>${escapeHtml(e.name)}</td><td><code>${escapeHtml(e.url)}</code></td></tr>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(PRODUCT.name)} console</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; min-width: 40rem; }
  th, td { text-align: left; padding: .25rem .75rem; border-bottom: 1px solid #ddd; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #status { color: #888; font-size: .85rem; }
</style>
</head>
<body>
<h1>${escapeHtml(PRODUCT.name)} ${escapeHtml(PRODUCT.version)}</h1>
<p id="status">loading…</p>
<h2>Endpoints</h2>
<table><tr><th>Endpoint</th><th>URL</th></tr>${endpoints}</table>
<h2>Queues</h2>
<table id="queues"></table>
<h2>Connections</h2>
<table id="connections"></table>
<h2>Exchanges</h2>
<table id="exchanges"></table>
<script>
const views = {
  queues: [['Virtual host', 'vhost'], ['Name', 'name'], ['Type', 'type'], ['Ready', 'messages_ready', 1], ['Unacked', 'messages_unacknowledged', 1], ['Total', 'messages', 1], ['Consumers', 'consumers', 1]],
  connections: [['Protocol', 'protocol'], ['User', 'user'], ['Virtual host', 'vhost'], ['Client', 'peer_host'], ['Connected', 'connected_at']],
  exchanges: [['Virtual host', 'vhost'], ['Name', 'name'], ['Type', 'type'], ['Durable', 'durable']],
};
function cell(row, tag, text, numeric) {
  const c = row.appendChild(document.createElement(tag));
  c.textContent = text;
  if (numeric) c.className = 'n';
}
function show(id, rows) {
  const table = document.getElementById(id);
  table.replaceChildren();
  const head = table.insertRow();
  for (const [title] of views[id]) cell(head, 'th', title);
  for (const item of rows) {
    const row = table.insertRow();
    for (const [, field, numeric] of views[id]) {
      let value = item[field];
      if (field === 'connected_at') value = new Date(value).toLocaleString();
      if (id === 'exchanges' && field === 'name' && value === '') value = '(AMQP default)';
      cell(row, 'td', String(value), numeric);
    }
  }
}
async function refresh() {
  try {
    for (const id of Object.keys(views)) {
      const res = await fetch('api/' + id, { cache: 'no-store' });
      if (!res.ok) throw new Error(id + ': HTTP ' + res.status);
      show(id, await res.json());
    }
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (err) {
    document.getElementById('status').textContent = 'refresh failed: ' + err.message;
  }
}
refresh();
setInterval(refresh, 5000);
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
