import { setFlagsFromString } from 'node:v8';

/**
 * While the CLI loads its modules (a hundred of them for `start`), Node's own module loader
 * functions (URL and path parsing) run hot enough for V8 to optimize them with TurboFan,
 * and running TurboFan once maps ~4 MiB of the node binary's code into the process for
 * good: a third of an idle broker's memory beyond bare Node (issue 18: idle RSS). Loading
 * is a one-off, so the optimizing compiler is off for it (the interpreter and Sparkplug
 * still run), and back on, for everything the command then does, once its code is loaded.
 * Left alone when the user chose compiler flags (`--jitless`, `--no-opt`...).
 */
const userChose = /--(no-)?(always-)?(opt|turbofan|jitless|maglev|max-opt)\b/.test([...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].join(' '));
let deferred = false;
if (!userChose) {
  setFlagsFromString('--no-turbofan');
  deferred = true;
}

/** a command's code is loaded: optimize what it runs from now on */
export function optimizeFromNow(): void {
  if (!deferred) return;
  deferred = false;
  setFlagsFromString('--turbofan');
}
