/**
 * The shape of the tree, checked by `npm run lint` (depcruise; docs/architecture.md explains it).
 * Feature modules are the folders of src/ that own a concept; infrastructure never depends on a
 * feature; common/ (domain errors, shared DTO fields) depends on no other folder of src/ but
 * config/; nothing in src/ reaches into bench/ or test/; no cycles.
 */
const FEATURES = 'balance|charges|grants|reservations|ledger|usage|health';
const INFRASTRUCTURE = 'common|config|database|http|idempotency|lifecycle|metrics';

/** What a feature exports on purpose to other features, beside its module and dto/: each file
 *  here says in its header who includes it. */
const SHARED = [
  '^src/reservations/due-holds\\.ts$', // the due-holds CTE: debit (charges) and hold (reservations)
  '^src/usage/usage-rollup\\.ts$', // the monthly rollup CTE: every statement that debits
  '^src/grants/grant-sql\\.ts$', // grant expiry and draws: every statement that takes tokens
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-bench-or-test',
      severity: 'error',
      comment: 'The product never imports the benchmark or the test harness.',
      from: { path: '^src/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'infrastructure-not-features',
      severity: 'error',
      comment: 'Infrastructure never imports a feature module.',
      from: { path: `^src/(${INFRASTRUCTURE})/` },
      to: { path: `^src/(${FEATURES})/` },
    },
    {
      name: 'common-depends-on-nothing',
      severity: 'error',
      comment: 'common/ is the bottom layer: it imports only config/ (no database, http, ...).',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/(common|config)/' },
    },
    {
      name: 'database-not-http',
      severity: 'error',
      comment: 'database/ maps driver errors to domain errors; rendering them is the edge (http/).',
      from: { path: '^src/database/' },
      to: { path: '^src/(http|idempotency|lifecycle|metrics)/' },
    },
    {
      name: 'features-not-each-others-internals',
      severity: 'error',
      comment:
        'A feature imports another feature only through what that feature exports on purpose: ' +
        'its module (for Nest imports), its dto/ (shapes on the wire) and the SHARED files.',
      from: { path: `^src/(${FEATURES})/` },
      to: {
        path: `^src/(${FEATURES})/`,
        pathNot: ['^src/$1/', '\\.module\\.ts$', '/dto/', ...SHARED],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|dist-bench|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
