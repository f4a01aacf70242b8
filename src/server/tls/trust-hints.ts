/**
 * What to tell a developer so their clients trust LocalMQ's CA: one line per client stack.
 * Paths are quoted for the shell and for Python where they need it.
 */
export function trustHints(caFile: string): string[] {
  const shellPath = /^[\w@%+=:,./-]+$/.test(caFile) ? caFile : `'${caFile.replaceAll("'", `'\\''`)}'`;
  // a JSON string literal is a valid Python string literal for any path
  const pythonPath = JSON.stringify(caFile);
  return [
    `Node.js:        NODE_EXTRA_CA_CERTS=${shellPath}`,
    `Python (pika):  ssl_options=pika.SSLOptions(ssl.create_default_context(cafile=${pythonPath}))`,
    `Python (paho):  client.tls_set(ca_certs=${pythonPath})`,
  ];
}
