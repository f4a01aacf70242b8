import { globalTeardown } from './jest.js';

/** jest's globalTeardown: stops the broker `localmq/jest` started */
export default globalTeardown;
