import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type LocalMQ, type BrokerOptions } from '../../src/index.js';

/**
 * The real ActiveMQ JMS client, from Debian's libactivemq-java, driven by the Java helper
 * test/java/JmsScenarios.java (compiled once per source version into the temp dir).
 */
const JAVA_DIR = '/usr/share/java';
const JARS = [
  'activemq-client.jar',
  'geronimo-jms_1.1_spec.jar',
  'geronimo-j2ee-management-1.1-spec.jar',
  'hawtbuf.jar',
  'slf4j-api.jar',
  'slf4j-nop.jar',
];
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'java', 'JmsScenarios.java');

/** why the JMS tests cannot run here, or undefined when they can */
export function jmsUnavailable(): string | undefined {
  for (const tool of ['java', 'javac']) {
    const r = spawnSync(tool, ['-version'], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} not found (apt-get install default-jdk-headless)`;
  }
  for (const jar of JARS) if (!existsSync(join(JAVA_DIR, jar))) return `${JAVA_DIR}/${jar} missing (apt-get install libactivemq-java)`;
  return undefined;
}

const compiled = new Map<string, string>();

/** the classpath with a compiled helper of test/java on it (JmsScenarios unless named) */
export function jmsClasspath(helper = 'JmsScenarios'): string {
  let cp = compiled.get(helper);
  if (!cp) {
    const path = helper === 'JmsScenarios' ? SOURCE : join(dirname(SOURCE), `${helper}.java`);
    const source = readFileSync(path);
    const dir = join(tmpdir(), `localmq-jms-${createHash('sha1').update(source).digest('hex').slice(0, 12)}`);
    const jars = JARS.map((j) => join(JAVA_DIR, j)).join(':');
    if (!existsSync(join(dir, `${helper}.class`))) {
      mkdirSync(dir, { recursive: true });
      const r = spawnSync('javac', ['-nowarn', '-d', dir, '-cp', jars, path], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`javac failed: ${r.stderr}`);
    }
    cp = `${dir}:${jars}`;
    compiled.set(helper, cp);
  }
  return cp;
}

export interface JmsRun {
  /** scenario → 'OK' or the failure text */
  results: Map<string, string>;
  /** `GOT …` lines (received messages) */
  got: string[];
  output: string;
}

/**
 * Run scenarios in one JVM against `url`. When a scenario prints `WAIT <what>`, `onWait`
 * runs (restart the broker, publish from another protocol…) before the JVM goes on.
 */
export function runJms(
  url: string,
  scenarios: string[],
  opts: { props?: Record<string, string>; onWait?: (what: string) => Promise<void>; timeoutMs?: number } = {},
): Promise<JmsRun> {
  const props = Object.entries(opts.props ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const child = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', ...props, '-cp', jmsClasspath(), 'JmsScenarios', url, ...scenarios], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const results = new Map<string, string>();
  const got: string[] = [];
  let output = '';
  let pending = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`JMS scenarios timed out; output so far:\n${output}`));
    }, opts.timeoutMs ?? 90_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (output += d));
    child.stdout.on('data', (d: string) => {
      output += d;
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trimEnd();
        pending = pending.slice(nl + 1);
        const m = /^RESULT (\S+) (OK|FAIL)(?: (.*))?$/.exec(line);
        if (m) results.set(m[1]!, m[2] === 'OK' ? 'OK' : (m[3] ?? 'failed'));
        else if (line.startsWith('GOT ')) got.push(line.slice(4));
        else if (line.startsWith('WAIT ')) {
          const what = line.slice(5);
          (opts.onWait ? opts.onWait(what) : Promise.resolve()).then(
            () => child.stdin.write('\n'),
            (err: unknown) => {
              output += `\nonWait failed: ${String(err)}`;
              child.stdin.write('\n');
            },
          );
        }
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ results, got, output });
    });
  });
}

/**
 * In a describe block: one broker (engine activemq) and one JVM running `scenarios`
 * against it before the tests; returns each scenario's outcome ('OK' or why it failed).
 */
export function jmsScenarioRun(scenarios: string[], options: BrokerOptions = {}): (name: string) => string {
  let broker: LocalMQ | undefined;
  let run: JmsRun | undefined;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', ...options });
    run = await runJms(broker.urls.openwire!.replace('localhost', '127.0.0.1'), scenarios);
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });
  return (name) => {
    const r = run?.results.get(name);
    if (r === undefined) throw new Error(`scenario ${name} did not run; JVM output:\n${run?.output ?? '(no run)'}`);
    return r;
  };
}
