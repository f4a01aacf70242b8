#!/usr/bin/env bash
# Runs docs/ci.md's recipe exactly as a CI job would, from the package as published:
# npm pack, install the tarball in a clean temporary project, then
#   npx localmq start --detach --definitions definitions.json && npx localmq wait
# an AMQP round trip as the fixture's `app` user, and npx localmq stop.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t localmq-ci-XXXXXX)"
cleanup() {
  (cd "$work/project" 2>/dev/null && npx --no-install localmq stop >/dev/null 2>&1) || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== npm pack"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "$tarball"

echo "== npm install the tarball in a clean project"
mkdir "$work/project"
cd "$work/project"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$tarball" amqplib
cp "$repo/test/fixtures/rabbitmq/rabbitmq-3.10-definitions.json" definitions.json

echo "== the recipe"
npx localmq start --detach --definitions definitions.json && npx localmq wait --timeout 30

echo "== an AMQP round trip"
cat > round-trip.cjs <<'JS'
const amqplib = require('amqplib');
(async () => {
  const conn = await amqplib.connect('amqp://app:app-secret-pass-1@localhost:5672/orders');
  const ch = await conn.createConfirmChannel();
  ch.publish('orders.events', 'order.created', Buffer.from('ci round trip'));
  await ch.waitForConfirms();
  const msg = await ch.get('orders.created', { noAck: true });
  if (!msg || msg.content.toString() !== 'ci round trip') throw new Error('round trip failed: ' + (msg && msg.content));
  await conn.close();
  console.log('round trip ok: ' + msg.content.toString());
})().catch((e) => { console.error(e.message); process.exit(1); });
JS
node round-trip.cjs

npx localmq status
npx localmq stop
echo "== ok"
