/**
 * scripts/check-pack.ts, the gate before a tarball is published (scripts/pack.sh) and in CI
 * (.ci/run packs a fresh clone with it): each thing it must catch, on small hand-made tarballs.
 * The fresh-clone pack itself runs in .ci/run, not here (it builds the whole package).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkTarball } from '../../scripts/check-pack';

const NODE_MODULES = path.resolve(__dirname, '../../node_modules');

const GOOD_PACKAGE = {
	name: 'n8n-nodes-example',
	version: '1.0.0',
	license: 'MIT',
	homepage: 'https://example.com/repo#readme',
	bugs: { url: 'https://example.com/repo/issues' },
	repository: { type: 'git', url: 'git+https://example.com/repo.git' },
	author: { name: 'Someone', email: 'someone@example.com' },
	keywords: ['n8n-community-node-package'],
	main: 'dist/index.js',
	n8n: { n8nNodesApiVersion: 1, nodes: ['dist/nodes/Thing/Thing.node.js'], credentials: [] as string[] },
};

const GOOD_FILES: Record<string, string> = {
	'dist/index.js': "module.exports = require('./nodes/Thing/Thing.node');\n",
	'dist/nodes/Thing/Thing.node.js':
		"class Thing { constructor() { this.description = { icon: { light: 'file:thing.svg', dark: 'file:thing.dark.svg' } }; } }\nexports.Thing = Thing;\n",
	'dist/nodes/Thing/thing.svg': '<svg/>',
	'dist/nodes/Thing/thing.dark.svg': '<svg/>',
	'README.md': '# thing\n',
};

let work: string;
beforeAll(() => {
	work = mkdtempSync(path.join(tmpdir(), 'pack-check-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let made = 0;
/** A tarball laid out as npm packs one (everything under package/). */
function tarball(pkg: object, files: Record<string, string | undefined>): string {
	const dir = path.join(work, `t${++made}`);
	for (const [file, text] of Object.entries({ 'package.json': JSON.stringify(pkg), ...files })) {
		if (text === undefined) continue;
		mkdirSync(path.dirname(path.join(dir, 'package', file)), { recursive: true });
		writeFileSync(path.join(dir, 'package', file), text);
	}
	const out = `${dir}.tgz`;
	execFileSync('tar', ['-czf', out, '-C', dir, 'package']);
	return out;
}

const problemsOf = (pkg: object, files: Record<string, string | undefined> = GOOD_FILES, load = false) =>
	checkTarball(tarball(pkg, files), load ? NODE_MODULES : undefined).problems;

describe('check-pack', () => {
	test('a complete package passes, loaded too (control)', () => {
		expect(problemsOf(GOOD_PACKAGE, GOOD_FILES, true)).toEqual([]);
	});

	test('a package without its build (what a plain npm pack made under ignore-scripts) fails, naming each declared file', () => {
		const problems = problemsOf(GOOD_PACKAGE, { 'README.md': '# thing\n' });
		expect(problems).toEqual(
			expect.arrayContaining([
				'dist/index.js is declared in package.json but not in the tarball',
				'dist/nodes/Thing/Thing.node.js is declared in package.json but not in the tarball',
			]),
		);
	});

	test('incomplete metadata is named field by field', () => {
		const { repository: _r, bugs: _b, ...rest } = GOOD_PACKAGE;
		const problems = problemsOf({ ...rest, private: true, author: 'Someone', keywords: ['n8n'] });
		expect(problems).toEqual([
			'package.json is "private": npm would refuse to publish it (pack with scripts/pack.sh)',
			'package.json has no repository url',
			'package.json has no bugs url',
			'package.json has no author e-mail',
			'package.json keywords lack n8n-community-node-package (n8n lists community nodes by it)',
		]);
	});

	test('a missing icon, a map to unshipped sources, a declaration file and a stray file are each reported', () => {
		const problems = problemsOf(GOOD_PACKAGE, {
			...GOOD_FILES,
			'dist/nodes/Thing/thing.dark.svg': undefined,
			'dist/nodes/Thing/Thing.node.js.map': JSON.stringify({
				version: 3,
				sources: ['../../../nodes/Thing/Thing.node.ts'],
			}),
			'dist/nodes/Thing/Thing.node.d.ts': 'export {};',
			'test/thing.test.js': '',
		});
		// In the tarball's order, which tar decides.
		expect([...problems].sort()).toEqual(
			[
				'dist/nodes/Thing/Thing.node.js names icon file:thing.dark.svg, which is not shipped',
				'dist/nodes/Thing/Thing.node.js.map points at nodes/Thing/Thing.node.ts, which is not shipped',
				"dist/nodes/Thing/Thing.node.d.ts: a declaration file (nothing imports this package's types)",
				'test/thing.test.js: not part of the package (only dist/, examples/ and the top-level documents)',
			].sort(),
		);
	});

	test('a node with one icon for both themes is reported when loading', () => {
		const problems = problemsOf(
			GOOD_PACKAGE,
			{
				...GOOD_FILES,
				'dist/nodes/Thing/Thing.node.js':
					"class Thing { constructor() { this.description = { icon: 'file:thing.svg' }; } }\nexports.Thing = Thing;\n",
			},
			true,
		);
		expect(problems).toEqual([
			'dist/nodes/Thing/Thing.node.js has no light and dark icon ({ light: "file:….svg", dark: "file:….dark.svg" })',
		]);
	});

	test('a map whose sources are shipped is fine', () => {
		const problems = problemsOf(GOOD_PACKAGE, {
			...GOOD_FILES,
			'dist/index.js.map': JSON.stringify({ version: 3, sources: ['index.js'] }),
		});
		expect(problems).toEqual([]);
	});

	test('a node that does not load, or exports another class, is reported when loading', () => {
		const problems = problemsOf(
			{ ...GOOD_PACKAGE, n8n: { nodes: ['dist/nodes/Thing/Thing.node.js', 'dist/nodes/Other/Other.node.js'] } },
			{
				...GOOD_FILES,
				'dist/nodes/Thing/Thing.node.js': "require('./not-shipped');",
				'dist/nodes/Other/Other.node.js': 'exports.Another = class {};',
			},
			true,
		);
		expect(problems).toHaveLength(3);
		expect(problems[0]).toMatch(/^dist\/index\.js does not load: Cannot find module '\.\/not-shipped'/);
		expect(problems[1]).toMatch(/^dist\/nodes\/Thing\/Thing\.node\.js does not load/);
		expect(problems[2]).toBe('dist/nodes/Other/Other.node.js exports no class Other');
	});
});
