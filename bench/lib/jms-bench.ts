import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's ActiveMQ JMS client (libactivemq-java) and what it needs on the classpath */
const JARS = ['activemq-client.jar', 'geronimo-jms_1.1_spec.jar', 'geronimo-j2ee-management-1.1-spec.jar', 'hawtbuf.jar', 'slf4j-api.jar', 'slf4j-nop.jar']
  .map((j) => `/usr/share/java/${j}`)
  .join(':');

/**
 * A bench's JMS client (bench/openwire/<name>.java) compiled against Debian's ActiveMQ client into a
 * temp dir: the classpath to run it with (`java -cp <it> <name> ...`), or why it cannot run (no javac).
 */
export function compileJmsBench(name: string): { classpath: string } | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-jms-bench-'));
  const r = spawnSync('javac', ['-nowarn', '-d', dir, '-cp', JARS, new URL(`../openwire/${name}.java`, import.meta.url).pathname], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { skipped: `javac failed: ${r.error?.message ?? r.stderr}` };
  return { classpath: `${dir}:${JARS}` };
}
