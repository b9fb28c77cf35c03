/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
	testMatch: ['<rootDir>/test/**/*.test.ts'],
	// Real servers start once per run (see test/harness/global-setup.ts); suites share them.
	globalSetup: '<rootDir>/test/harness/global-setup.ts',
	globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
	testTimeout: 120000,
	maxWorkers: 2,
};
