import { VERSION } from './version.js';

export const PRODUCT = {
  name: 'LocalMQ',
  version: VERSION,
  platform: `Node.js ${process.version}`,
};
