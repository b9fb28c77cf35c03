// Import rules `npm run lint` enforces (dependency-cruiser): no cycles anywhere, and nodes/ reach
// engines and destination backends only through their entry points (index.ts).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
	forbidden: [
		{
			name: 'no-cycle',
			severity: 'error',
			comment:
				'An import cycle makes modules load half-initialised and the layers unreadable. Move the shared piece into a module both can import.',
			from: {},
			to: { circular: true },
		},
		{
			name: 'nodes-use-entry-points',
			severity: 'error',
			comment:
				'nodes/ and credentials/ import an engine (core/sources/<engine>) or a destination backend only through its index.ts.',
			from: { path: '^(nodes|credentials)/' },
			to: {
				path: '^core/(sources/[^/]+|destinations|restore-test|verify)/.+',
				pathNot: '^core/(sources/[^/]+|destinations|restore-test|verify)/index\\.ts$',
			},
		},
		{
			name: 'core-without-n8n',
			severity: 'error',
			comment: 'core/ is the domain layer: no n8n, no nodes.',
			from: { path: '^core/' },
			to: { path: '^(nodes|credentials)/|node_modules/n8n-(workflow|core)/' },
		},
		{
			name: 'support-stands-alone',
			severity: 'error',
			comment:
				'support/ (servers, fixtures, the n8n harnesses) serves test/, scripts/ and bench/; it imports none of them.',
			from: { path: '^support/' },
			to: { path: '^(test|scripts|bench)/' },
		},
		{
			name: 'scripts-and-bench-not-from-test',
			severity: 'error',
			comment: 'What scripts/ and bench/ share with the tests lives in support/.',
			from: { path: '^(scripts|bench)/' },
			to: { path: '^test/' },
		},
	],
	options: {
		doNotFollow: { path: 'node_modules' },
		exclude: { path: '^(dist|node_modules|coverage)/' },
		tsPreCompilationDeps: true,
		tsConfig: { fileName: 'tsconfig.dev.json' },
	},
};
