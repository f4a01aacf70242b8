/**
 * package.json's version, as a constant: the same code runs as ESM and as CommonJS (the
 * require('localmq') build), where neither import.meta nor __dirname works in both.
 * test/package.test.ts checks it matches package.json.
 */
export const VERSION = '0.1.0';
