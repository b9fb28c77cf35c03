/**
 * n8n in queue mode (`npm run test:queue`): Redis, one n8n main, two `n8n worker` processes and
 * this package, with faults injected (a worker killed, Redis restarted). Not part of `npm test`
 * nor of .ci/run (its runtime; see docs/queue-mode.md). Reuses the e2e setup: n8n installed
 * into the cache folder, this package packed and installed once, the shared PostgreSQL.
 * @type {import('jest').Config}
 */
module.exports = {
	rootDir: '../..',
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
	testMatch: ['<rootDir>/test/e2e-queue/**/*.e2e.ts'],
	globalSetup: '<rootDir>/test/e2e/global-setup.ts',
	globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
	// Last resort only: every n8n process is watched for activity (support/n8n-env.ts).
	testTimeout: 20 * 60_000,
	maxWorkers: 1,
	verbose: true,
};
