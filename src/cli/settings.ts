import type { Command } from 'commander';
import {
  ConfigError,
  ENV_NAMES,
  LISTENER_KEYS,
  kebab,
  portEnvName,
  resolveSettings,
  settingsFromEnv,
  settingsFromFile,
  type RawSettings,
  type Settings,
} from './config.js';
import { STANDARD_PORTS } from '../server/profiles.js';
import { INSTANCE_TYPES } from '../server/instance-types.js';
import { CliError, EXIT_BAD_SETTINGS } from './fail.js';

/** the commander options every command that finds a broker by its run dir takes */
export function addRunDirOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', `JSON config file (env ${ENV_NAMES.config})`)
    .option('--data-dir <dir>', `the broker's data dir (env ${ENV_NAMES.dataDir}; default ./.localmq)`)
    .option('--run-dir <dir>', `where its pid, log and state files are (env ${ENV_NAMES.runDir}; default the data dir)`);
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** the options of `localmq start`; none has a commander default, so the layers below can speak */
export function addStartOptions(cmd: Command): Command {
  addRunDirOptions(cmd)
    .option('--host <address>', `address to listen on, repeatable (env ${ENV_NAMES.host}, comma-separated; default 127.0.0.1 and ::1)`, collect)
    .option('--hostname <name>', `host name used in the printed URLs (env ${ENV_NAMES.hostname}; default localhost)`)
    .option('--engine <engine>', `Amazon MQ engine profile: rabbitmq, activemq or all (env ${ENV_NAMES.engine}; default all)`)
    .option('--engine-version <version>', `Amazon MQ engine version: RabbitMQ 3.13, 4.2 or 4.3; ActiveMQ 5.18 or 5.19 (env ${ENV_NAMES.engineVersion}; default RabbitMQ 4.2, ActiveMQ 5.19)`);
  for (const key of LISTENER_KEYS) {
    cmd.option(`--${kebab(key)}-port <port>`, `${key} port, 0 for a free one, off to disable (env ${portEnvName(key)}; default ${STANDARD_PORTS[key]} when the engine has it)`);
  }
  return cmd
    .option('--free-ports', `put every listener on a free port (env ${ENV_NAMES.freePorts}=true)`)
    .option('--user <name:password[:tags]>', `user to create, repeatable; tags comma-separated, default administrator (env ${ENV_NAMES.users}, space-separated; default guest:guest, loopback only)`, collect)
    .option('--vhost <name>', `vhost to create besides /, repeatable (env ${ENV_NAMES.vhosts}, comma-separated)`, collect)
    .option('--in-memory', `keep nothing on disk (env ${ENV_NAMES.inMemory}=true)`)
    .option('--log-level <level>', `silent, error, warn, info, debug or trace (env ${ENV_NAMES.logLevel}; default info)`)
    .option('--log-format <format>', `text or json (env ${ENV_NAMES.logFormat}; default text on a terminal, json otherwise)`)
    .option('--verbose', 'log every frame (same as --log-level trace)')
    .option('--definitions <file>', `RabbitMQ definitions.json to import at start (env ${ENV_NAMES.definitions})`)
    .option('--amazon-hostnames', `brokers created through the Amazon MQ API list their endpoints at b-<id>-1.mq.<region>.amazonaws.com (the certificate covers it; map it to 127.0.0.1) (env ${ENV_NAMES.amazonHostnames}=true)`)
    .option('--strict', `apply Amazon MQ's user rules to every user created: no default guest, so give --user (env ${ENV_NAMES.strict}=true)`)
    .option('--mqtt-allow-anonymous [yes|no]', `MQTT clients without a username act as guest (env ${ENV_NAMES.mqttAllowAnonymous}; config mqtt.allowAnonymous; default yes, no with --strict)`)
    .option('--mqtt-max-keep-alive <seconds>', `the longest keep-alive an MQTT client may use, as Mosquitto's max_keepalive: an MQTT 5 client asking for more, or for none, is told this one in its CONNACK (Server Keep Alive) and held to it; a 3.1.1 client cannot be told and keeps its own, as in Mosquitto (env ${ENV_NAMES.mqttMaxKeepAlive}; config mqtt.maxKeepAlive; default no cap)`)
    .option('--handshake-timeout <ms>', `close a client that has not finished its protocol's handshake (AMQP open, STOMP/MQTT CONNECT, AMQP 1.0 open, OpenWire ConnectionInfo) in this many ms, as RabbitMQ's handshake_timeout (env ${ENV_NAMES.handshakeTimeout}; default 10000)`)
    .option('--max-unacked-per-connection <n>', `unbounded deliveries one connection may hold unacknowledged over all its channels (consumers that ack with no prefetch, basic.gets with ack); at the cap they get nothing more until it acks, nacks or rejects some (0: no cap, as RabbitMQ) (env ${ENV_NAMES.maxUnackedPerConnection}; default 100000)`)
    .option('--instance-type <type>', `Amazon MQ broker size whose limits apply: ${INSTANCE_TYPES.join(', ')} (env ${ENV_NAMES.instanceType}; default mq.m5.large's limits)`)
    .option('--memory-high-watermark <fraction|size>', `block publishers while the broker's memory (RSS) is above this: a fraction of RAM or a size like 512MiB (env ${ENV_NAMES.memoryHighWatermark}; default 0.4, RabbitMQ's vm_memory_high_watermark)`)
    .option('--disk-free-limit <size|mem_relative:N>', `block publishers while the data dir's filesystem has less free space than this: a size like 1GB or a multiple of RAM like mem_relative:1.0 (env ${ENV_NAMES.diskFreeLimit}; config diskFreeLimit, also {"relative": 1.0}; default 50MB, RabbitMQ's disk_free_limit)`)
    .option('--detach', 'run in the background: write localmq.pid and localmq.log in the run dir, return once ready')
    .option('--ready-timeout <seconds>', 'with --detach: how long to wait for the broker to be ready', '60');
}

type Flags = Record<string, unknown>;

/** commander's parsed options as the highest settings layer */
export function flagLayer(opts: Flags): RawSettings {
  const raw: RawSettings = {};
  const copy = (from: string, to: keyof RawSettings) => {
    if (opts[from] !== undefined) (raw as Record<string, unknown>)[to] = opts[from];
  };
  copy('host', 'host');
  copy('hostname', 'hostname');
  copy('engine', 'engine');
  copy('engineVersion', 'engineVersion');
  copy('freePorts', 'freePorts');
  copy('user', 'users');
  copy('vhost', 'vhosts');
  copy('dataDir', 'dataDir');
  copy('inMemory', 'inMemory');
  copy('runDir', 'runDir');
  copy('logLevel', 'logLevel');
  copy('logFormat', 'logFormat');
  copy('verbose', 'verbose');
  copy('definitions', 'definitions');
  copy('strict', 'strict');
  copy('amazonHostnames', 'amazonHostnames');
  copy('instanceType', 'instanceType');
  copy('mqttAllowAnonymous', 'mqttAllowAnonymous');
  copy('mqttMaxKeepAlive', 'mqttMaxKeepAlive');
  copy('handshakeTimeout', 'handshakeTimeout');
  copy('maxUnackedPerConnection', 'maxUnackedPerConnection');
  copy('memoryHighWatermark', 'memoryHighWatermark');
  copy('diskFreeLimit', 'diskFreeLimit');
  for (const key of LISTENER_KEYS) {
    const v = opts[`${key}Port`];
    if (v !== undefined) (raw.ports ??= {})[key] = v;
  }
  return raw;
}

/** flags > LOCALMQ_* > config file > defaults */
export function settingsFor(opts: Flags, env: NodeJS.ProcessEnv = process.env): Settings {
  try {
    const configFile = (opts['config'] as string | undefined) ?? (env[ENV_NAMES.config] || undefined);
    const layers: Parameters<typeof resolveSettings>[0] = [
      { raw: flagLayer(opts), source: 'flag' },
      { raw: settingsFromEnv(env), source: 'env' },
    ];
    if (configFile !== undefined) layers.push({ raw: settingsFromFile(configFile), source: 'file' });
    return resolveSettings(layers);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_BAD_SETTINGS);
    throw err;
  }
}
