/**
 * Heavy clients load only when an option needs them. n8n requires every node and credential of
 * a community package at start; if that pulled mssql (tedious, @azure/identity: about 430
 * modules) or the googleapis Drive client (about 130), every PostgreSQL-to-SFTP user would pay
 * for them at each start. The files are required in a child process (a real require.cache, not
 * jest's registry), from their TypeScript sources through tsx. Figures: docs/install-footprint.md.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const HEAVY = [
	'mssql',
	'tedious',
	'@azure/identity',
	'@googleapis/drive',
	'googleapis-common',
	'google-auth-library',
	'gaxios',
];

/** Requires `files` (paths from the repository root) in a fresh node, then lists the packages loaded. */
async function packagesLoadedBy(files: string[], then = ''): Promise<string[]> {
	const probe = `
		const path = require('node:path');
		for (const f of JSON.parse(process.env.PROBE_FILES)) require(path.resolve(process.env.PROBE_ROOT, f));
		Promise.resolve((async () => { ${then} })()).then(() => {
			const names = new Set();
			for (const file of Object.keys(require.cache)) {
				const m = file.match(/.*[\\\\/]node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)[\\\\/]/);
				if (m) names.add(m[1].replace(/\\\\/g, '/'));
			}
			process.stdout.write(JSON.stringify([...names]));
		});`;
	const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', probe], {
		cwd: ROOT,
		env: { ...process.env, PROBE_ROOT: ROOT, PROBE_FILES: JSON.stringify(files) },
		maxBuffer: 16 << 20,
	});
	return JSON.parse(stdout) as string[];
}

/** The TypeScript source of each node and credential n8n loads (package.json's n8n section). */
function n8nEntryPoints(): string[] {
	const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
		n8n: { nodes: string[]; credentials: string[] };
	};
	return [...pkg.n8n.nodes, ...pkg.n8n.credentials].map((f) => f.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

describe('what loading the package costs a PostgreSQL-only workflow', () => {
	test('the probe sees a heavy client when one is loaded (control)', async () => {
		const loaded = await packagesLoadedBy(['core/sources/sqlserver/index.ts'], "require('mssql');");
		expect(loaded).toEqual(expect.arrayContaining(['mssql', 'tedious']));
	});

	test('requiring every node and credential, as n8n does at start, loads neither mssql nor the Drive client', async () => {
		const loaded = await packagesLoadedBy(n8nEntryPoints());
		expect(loaded).toContain('pg');
		expect(loaded.filter((name) => HEAVY.includes(name))).toEqual([]);
	});

	test('a Google Drive destination loads its client at its first call, not before', async () => {
		const loaded = await packagesLoadedBy(
			['core/destinations/index.ts'],
			`const { openDestination } = require(path.resolve(process.env.PROBE_ROOT, 'core/destinations/index.ts'));
			const drive = openDestination({
				type: 'google-drive', rootFolderId: 'folder', maxRetries: 0, timeoutMs: 5000,
				apiBaseUrl: 'http://127.0.0.1:9', tokenUrl: 'http://127.0.0.1:9/token',
				auth: { kind: 'oauth2', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
			});
			drive.describe();
			if (Object.keys(require.cache).some((f) => f.includes('googleapis'))) throw new Error('loaded at construction');
			await drive.list('').catch(() => undefined); // nothing listens on port 9: fails after loading the client
			await drive.close();`,
		);
		expect(loaded).toContain('@googleapis/drive');
	});
});
