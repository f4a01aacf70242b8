import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's python3, where python3-qpid-proton installs (a pyenv shim on PATH may not have it) */
export const python = '/usr/bin/python3';

/** why python-qpid-proton tests skip, or undefined when it is there */
export const protonMissing: string | undefined = (() => {
  const r = spawnSync(python, ['-c', 'import proton'], { encoding: 'utf8' });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? undefined : 'python3-qpid-proton is not installed (apt-get install python3-qpid-proton)';
})();

/** run test/scripts/<script> with `args`; resolves with its stdout, rejects with its stderr when it fails */
export function runPythonScript(script: string, args: string[]): Promise<string> {
  const path = fileURLToPath(new URL(`../scripts/${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const p = spawn(python, [path, ...args]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err} ${out}`))));
  });
}
