import { CliError, EXIT_NOT_RUNNING } from '../fail.js';
import { probeHost, probeTcp } from '../probe.js';
import type { RunState } from '../run-state.js';
import { callApi, localApi, runningBroker } from './control.js';

interface Overview {
  object_totals?: { connections?: number; queues?: number; exchanges?: number; consumers?: number };
  queue_totals?: { messages?: number };
}

interface NodeInfo {
  mem_used?: number;
  mem_limit?: number;
  mem_alarm?: boolean;
  disk_free_alarm?: boolean;
  disk_free?: number;
  disk_free_limit?: number;
}

/** `localmq status`: is it running, since when, which listeners answer, how busy it is. */
export async function runStatus(runDir: string, json: boolean): Promise<void> {
  let state: RunState;
  try {
    state = runningBroker(runDir);
  } catch (err) {
    // a script asked for JSON: it gets JSON either way (and exit code 3)
    if (json && err instanceof CliError && err.exitCode === EXIT_NOT_RUNNING) {
      process.stdout.write(JSON.stringify({ running: false, runDir, reason: err.message }, null, 2) + '\n');
      process.exitCode = EXIT_NOT_RUNNING;
      return;
    }
    throw err;
  }
  const host = probeHost(state.hosts);
  const listeners = await Promise.all(
    Object.entries(state.ports).map(async ([key, port]) => ({ key, port, url: state.urls[key] ?? null, up: (await probeTcp(host, port)) === null })),
  );
  let overview: Overview | undefined;
  let node: NodeInfo | undefined;
  if (state.ports['http'] !== undefined) {
    overview = (await callApi(localApi(state), 'GET', '/api/overview').catch(() => undefined)) as Overview | undefined;
    const nodes = (await callApi(localApi(state), 'GET', '/api/nodes').catch(() => undefined)) as NodeInfo[] | undefined;
    node = Array.isArray(nodes) ? nodes[0] : undefined;
  }
  const memory = node?.mem_used !== undefined && node.mem_limit !== undefined
    ? { used: node.mem_used, limit: node.mem_limit, alarm: node.mem_alarm === true, diskAlarm: node.disk_free_alarm === true }
    : null;
  // RabbitMQ's disk_free_limit: the data dir's free space as the disk monitor last read it
  const disk = node?.disk_free !== undefined && node.disk_free_limit !== undefined
    ? { free: node.disk_free, limit: node.disk_free_limit, alarm: node.disk_free_alarm === true }
    : null;
  const uptimeSec = Math.round((Date.now() - Date.parse(state.startedAt)) / 1000);
  const totals = overview?.object_totals;
  if (json) {
    const { controlToken: _secret, ...shown } = state;
    process.stdout.write(JSON.stringify({ running: true, ...shown, uptimeSec, listeners, totals: totals ?? null, messages: overview?.queue_totals?.messages ?? null, memory, disk }, null, 2) + '\n');
    return;
  }
  const lines = [
    `running: pid ${state.pid}, up ${formatDuration(uptimeSec)} (since ${state.startedAt}), LocalMQ ${state.version}, engine ${state.engine}`,
    ...listeners.map((l) => `  ${l.key.padEnd(8)} ${String(l.port).padEnd(6)} ${l.up ? 'accepting' : 'NOT accepting'}  ${l.url ?? ''}`),
  ];
  if (totals) lines.push(`  connections ${totals.connections ?? 0}, queues ${totals.queues ?? 0}, consumers ${totals.consumers ?? 0}, messages ${overview?.queue_totals?.messages ?? 0}`);
  if (memory) {
    // the disk alarm has its own line when there is a disk to watch
    const alarms = [memory.alarm ? 'memory' : '', memory.diskAlarm && !(disk && state.dataDir) ? 'disk' : ''].filter(Boolean);
    lines.push(`  memory ${mib(memory.used)} of ${mib(memory.limit)} high watermark${alarms.length ? `, ALARM (${alarms.join(', ')}): publishers blocked` : ''}`);
  }
  if (disk && state.dataDir) lines.push(`  disk free ${mib(disk.free)}, limit ${mib(disk.limit)}${disk.alarm ? ', ALARM (disk): publishers blocked' : ''}`);
  lines.push(`  data dir ${state.dataDir ?? 'in memory'}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 100 * 1024 * 1024 ? 1 : 0)} MiB`;
}

function formatDuration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}
