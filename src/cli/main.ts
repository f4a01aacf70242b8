#!/usr/bin/env node
// first: the optimizing compiler waits until a command's modules are loaded (idle RSS)
import { optimizeFromNow } from './deferred-optimizer.js';
import { Command, Option } from 'commander';
import { ENV_NAMES, LISTENER_KEYS, portEnvName } from './config.js';
import { PRODUCT } from '../server/product.js';
// each command loads its module when it runs: stop, status and wait need none of the
// broker, and loading all of it took most of a second on a busy machine
import { CliError, EXIT_BAD_SETTINGS, printError } from './fail.js';
import { addRunDirOptions, addStartOptions, settingsFor } from './settings.js';

const HELP_AFTER = `
Settings come from, highest first: command-line flags, LOCALMQ_* environment
variables, the JSON file given by --config (or ${ENV_NAMES.config}), the defaults.
Config file keys are the flag names in camelCase, ports under "ports", e.g.
  {"engine": "all", "ports": {"amqp": 5672, "mqtt": false}, "users": ["app:secret:management"],
   "dataDir": "./.localmq", "definitions": "./definitions.json"}
Relative paths in the file are relative to the file.

Environment: ${Object.values(ENV_NAMES).join(', ')}
  and one LOCALMQ_<LISTENER>_PORT per listener: ${LISTENER_KEYS.map((k) => portEnvName(k)).join(', ')}

Exit codes: 0 ok, 1 failed (port in use, not ready...), 2 bad settings, 3 not running (status).

Examples:
  npx localmq                                   run in the foreground, data in ./.localmq
  npx localmq start --in-memory --amqp-port 0   a throwaway broker on a free port
  npx localmq start --detach --definitions definitions.json && npx localmq wait
  npx localmq definitions export definitions.json
  npx localmq stop
  npx localmq failover b-1234...                 fail an active/standby broker made with 'aws mq create-broker' over
`;

const program = new Command();
program
  .name('localmq')
  .description('Amazon MQ on a laptop: an AMQP 0-9-1, STOMP and MQTT broker for development, tests and CI')
  .version(PRODUCT.version)
  .showSuggestionAfterError();

const start = program
  .command('start', { isDefault: true })
  .description('start the broker (in the foreground unless --detach) and print its endpoints');
addStartOptions(start).action(async (opts: Record<string, unknown>) => {
  const settings = settingsFor(opts);
  const readyTimeout = seconds(opts['readyTimeout'], '--ready-timeout');
  if (opts['detach']) await (await loaded(import('./commands/detach.js'))).runDetached(settings, process.argv.slice(1), readyTimeout);
  // start.ts decides when the optimizing compiler comes back (before a heavy start, or once ready)
  else await (await import('./commands/start.js')).runForeground(settings);
});
start.addHelpText('after', HELP_AFTER);
// `localmq --help` shows everything: start is what a bare `localmq` runs
program.addHelpText('after', () => `\n${start.helpInformation().replace(/^Usage: localmq start/, 'Usage: localmq [start]')}${HELP_AFTER}`);

addRunDirOptions(
  program.command('wait').description('exit 0 once every listener of the running broker accepts connections'),
)
  .option('--timeout <seconds>', 'give up after this long', '30')
  .action(async (opts: Record<string, unknown>) => {
    await (await loaded(import('./commands/wait.js'))).runWait(settingsFor(runDirOnly(opts)).runDir, seconds(opts['timeout'], '--timeout'));
  });

addRunDirOptions(program.command('status').description('is the broker running: pid, uptime, listeners, connection and queue counts'))
  .option('--json', 'print JSON')
  .action(async (opts: Record<string, unknown>) => {
    await (await loaded(import('./commands/status.js'))).runStatus(settingsFor(runDirOnly(opts)).runDir, Boolean(opts['json']));
  });

addRunDirOptions(program.command('stop').description('stop the running broker gracefully and wait until it is gone'))
  .option('--timeout <seconds>', 'give up waiting after this long', '30')
  .action(async (opts: Record<string, unknown>) => {
    await (await loaded(import('./commands/stop.js'))).runStop(settingsFor(runDirOnly(opts)).runDir, seconds(opts['timeout'], '--timeout'));
  });

addRunDirOptions(
  program
    .command('failover <broker-id>')
    .description('fail an ACTIVE_STANDBY_MULTI_AZ broker created through the Amazon MQ API over to its standby (the active instance stops abruptly)'),
).action(async (brokerId: string, opts: Record<string, unknown>) => {
  await (await loaded(import('./commands/failover.js'))).runFailover(settingsFor(runDirOnly(opts)).runDir, brokerId);
});

const definitions = program
  .command('definitions')
  .description("export or import RabbitMQ's definitions.json (users with password hashes, vhosts, permissions, exchanges, queues, bindings, policies)");
for (const verb of ['export', 'import'] as const) {
  addRunDirOptions(
    definitions
      .command(`${verb} <file>`)
      .description(verb === 'export' ? 'write the running broker\'s definitions to FILE (- for stdout)' : 'load FILE (- for stdin) into the running broker'),
  )
    .addOption(new Option('--url <url>', 'talk to this management API instead (any RabbitMQ-compatible one)'))
    .option('--user <name>', 'with --url: user', 'guest')
    .option('--password <password>', 'with --url: password', 'guest')
    .action(async (file: string, opts: Record<string, unknown>) => {
      await (await loaded(import('./commands/definitions.js'))).runDefinitionsCommand(verb, settingsFor(runDirOnly(opts)).runDir, file, opts);
    });
}

/** a command's module, once loaded, with the optimizing compiler back on (deferred-optimizer.ts) */
async function loaded<T>(module: Promise<T>): Promise<T> {
  try {
    return await module;
  } finally {
    optimizeFromNow();
  }
}

/** the control commands find the broker by run dir; only the options that locate it matter */
function runDirOnly(opts: Record<string, unknown>): Record<string, unknown> {
  const { config, dataDir, runDir } = opts;
  return { config, dataDir, runDir };
}

/**
 * `start` is the default command, so commander hands it any unknown word and answers
 * "too many arguments for 'start'". A word in the command's place that names no command
 * is a typo: say so, and suggest the command it most likely meant.
 */
function refuseUnknownCommand(word: string | undefined): void {
  if (word === undefined || word.startsWith('-')) return;
  const names = program.commands.map((c) => c.name()).concat('help');
  if (names.includes(word)) return;
  const suggestion = suggestCommand(word, names);
  throw new CliError(`unknown command '${word}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}; see 'localmq --help'`);
}

/** a command the word begins, else the nearest by edit distance (at most 2 edits) */
function suggestCommand(word: string, names: string[]): string | undefined {
  const prefixed = names.find((n) => n.startsWith(word.toLowerCase()));
  if (prefixed) return prefixed;
  let best: string | undefined;
  let bestDistance = 3;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n);
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function seconds(value: unknown, flag: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a number of seconds above 0, got ${JSON.stringify(value)}`, EXIT_BAD_SETTINGS);
  return n;
}

try {
  refuseUnknownCommand(process.argv[2]);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    printError(err.message);
    process.exit(err.exitCode);
  }
  // not ours to explain: still one line unless asked for more
  printError((err as Error).message ?? String(err));
  if (process.env['LOCALMQ_DEBUG']) console.error(err);
  process.exit(1);
}
