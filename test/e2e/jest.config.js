/**
 * End-to-end tests inside a real n8n 2.x (`npm run test:e2e`), separate from `npm test` (files end in .e2e.ts, so the main config's *.test.ts never picks them up):
 * the first run installs Node 24 and n8n into a cache folder outside the repository
 * (support/n8n-env.ts), and every n8n CLI call starts a whole n8n (~3 s).
 * @type {import('jest').Config}
 */
module.exports = {
	rootDir: '../..',
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
	testMatch: ['<rootDir>/test/e2e/**/*.e2e.ts'],
	// Installs n8n when missing, packs this package, starts the shared PostgreSQL.
	globalSetup: '<rootDir>/test/e2e/global-setup.ts',
	globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
	// Wall-clock limit per test, only as a last resort: every n8n process is watched for activity
	// (support/n8n-env.ts ActivityLimits) and stopped with a diagnosis when it stalls; a slow run on
	// a loaded machine is left to finish. A test makes at most a few n8n runs.
	testTimeout: 50 * 60_000,
	// Each n8n CLI call is a whole n8n process; one suite at a time keeps the machine responsive.
	maxWorkers: 1,
	verbose: true,
};
