/** The command-line tool helpers live in @perpmesh/testing (the gateway's tests use promtool too). */
export { commandAvailable, promtoolAvailable, promtoolProblems } from '@perpmesh/testing';
