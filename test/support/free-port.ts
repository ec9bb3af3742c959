/** The tests use the benchmark's helper: one definition of "a free port". */
export { freePort } from '../../src/bench/free-port.js';
