/**
 * RabbitMQ's shape of a resource limit (vm_memory_high_watermark, disk_free_limit): a
 * multiple of the machine's RAM (`relative`) or a size (`absolute`: bytes, or a string with
 * RabbitMQ's units, "512MiB", "1GB"). Each limit says what a bare number or a string means
 * beside that (LimitRules); the parsing is this one function.
 */
export type LimitSetting = number | string | { relative: number } | { absolute: number | string };

// RabbitMQ's information units: k/kiB/K/KiB = 1024, kB/KB = 1000 (and so on for M and G)
const UNITS: Record<string, number> = {
  '': 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** bytes from "512MiB", "1GB", "1073741824"; undefined when it is not a size */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** what one limit's setting means where the shapes leave it open */
export interface LimitRules {
  /** the limit's name and what may be given, for the error: `${name} ${setting}: use ${allowed}` */
  name: string;
  allowed: string;
  /** the limit when nothing is set */
  byDefault(ram: number): number;
  /**
   * A bare number up to this is a multiple of RAM, larger ones are whole bytes, and so is a
   * string that is a bare number. None: every number is bytes.
   */
  relativeUpTo?: number;
  /** a string that is a multiple of RAM: its first group is the multiple */
  relativeText?: RegExp;
  /** 0 is a limit (the disk's: never alarm) rather than a mistake */
  zero: boolean;
  /** bytes of a relative limit from RAM × multiple (RabbitMQ truncates the watermark, rounds the disk limit) */
  roundRelative(bytes: number): number;
}

/** the limit in bytes; throws with what is allowed when the setting makes no sense */
export function limitBytes(setting: LimitSetting | undefined, rules: LimitRules, ram: number): number {
  if (setting === undefined) return rules.byDefault(ram);
  const bad = () => new Error(`${rules.name} ${JSON.stringify(setting)}: use ${rules.allowed}`);
  const allowed = (n: number | undefined): n is number => typeof n === 'number' && Number.isFinite(n) && (n > 0 || (rules.zero && n === 0));
  const relative = (r: number | undefined): number => {
    if (!allowed(r)) throw bad();
    return rules.roundRelative(ram * r);
  };
  const size = (n: number | undefined): number => {
    if (!allowed(n)) throw bad();
    return Math.floor(n);
  };
  if (typeof setting === 'object' && setting !== null) {
    if ('relative' in setting) return relative(setting.relative);
    if ('absolute' in setting) return size(typeof setting.absolute === 'number' ? setting.absolute : parseSize(String(setting.absolute)));
    throw bad();
  }
  const number = (n: number): number => {
    if (rules.relativeUpTo === undefined) return size(n);
    if (n <= rules.relativeUpTo) return relative(n);
    // above it a number is bytes, and a fraction of a byte is a mistake for a multiple of RAM
    if (!Number.isInteger(n)) throw bad();
    return size(n);
  };
  if (typeof setting === 'number') return number(setting);
  if (typeof setting === 'string') {
    if (rules.relativeUpTo !== undefined && BARE_NUMBER.test(setting)) return number(Number(setting));
    const rel = rules.relativeText?.exec(setting);
    return rel ? relative(Number(rel[1])) : size(parseSize(setting));
  }
  throw bad();
}

const BARE_NUMBER = /^\s*(?:\d+(?:\.\d+)?|\.\d+)\s*$/;
