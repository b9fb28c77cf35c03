/**
 * The editor side of a real n8n: started with `n8n start`, owner account set up through the
 * editor's own endpoint, then the node and credential lists the editor loads
 * (`/types/nodes.json`, `/types/credentials.json`) must hold every node and credential of the
 * installed package, and their icons must be served.
 *
 * What is expected is read from the INSTALLED package (its package.json `n8n` section and its
 * classes), so nodes added later are checked without editing this file.
 *
 * Then what a user sees of our nodes, from the descriptions this n8n serves to its editor (after
 * its own additions, such as "Custom API Call"), read with n8n-workflow's display and expression
 * rules as the editor reads them (issue 16): no injected operation, options filtered by operation
 * and format, subtitles in words, texts the editor's sanitizer keeps.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
	PACKAGE_NAME,
	REPO_ROOT,
	setupOwner,
	startN8n,
	type N8nInstance,
	type RunningN8n,
} from '../../support/n8n-env';
import { addOption, panel, subtitleOf } from '../unit/nodes/editor-display';
import { freshInstance } from './n8n-cli';
import type { INodeTypeDescription } from 'n8n-workflow';

interface Described {
	name: string;
	displayName: string;
	icon?: unknown;
	iconUrl?: string | { light: string; dark: string };
}

let instance: N8nInstance;
let n8n: RunningN8n | undefined;
let cookie: string;

/**
 * Node and credential descriptions of the installed package: the file list from its package.json,
 * the classes from the same files in this repository's dist/ (the packed build), because the
 * installed copy cannot load outside n8n (n8n-workflow is a peer dependency n8n provides).
 */
function installedPackage(): { nodes: Described[]; credentials: Described[] } {
	const root = path.join(instance.userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE_NAME);
	const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
		n8n: { nodes: string[]; credentials: string[] };
	};
	const load = (file: string) =>
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- the list of files is only known at run time
		Object.values(require(path.join(REPO_ROOT, file)) as Record<string, new () => unknown>).map((Class) => new Class());
	return {
		nodes: pkg.n8n.nodes.flatMap(load).map((n) => (n as { description: Described }).description),
		credentials: pkg.n8n.credentials.flatMap(load) as Described[],
	};
}

/**
 * GET with the session cookie. Retried on a network error: Node's fetch reuses kept-alive
 * connections, and one that the server closes at that very moment (its keep-alive timeout, 5 s)
 * fails with "other side closed" before n8n ever sees the request. A GET is safe to repeat.
 */
async function get(url: string): Promise<Response> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await fetch(url, { headers: { cookie } });
		} catch (error) {
			if (attempt === 3)
				throw new Error(
					`GET ${url} failed ${attempt} times: ${(error as Error).message} (${String((error as Error).cause ?? '')})`,
					{ cause: error },
				);
		}
	}
}

async function getJson<T>(url: string): Promise<T> {
	const res = await get(url);
	if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
	return (await res.json()) as T;
}

function iconPath(described: Described): string {
	const icon = typeof described.iconUrl === 'string' ? described.iconUrl : described.iconUrl?.light;
	if (!icon)
		throw new Error(`${described.name} has no iconUrl in the editor's list (icon: ${JSON.stringify(described.icon)})`);
	return icon;
}

async function expectSvg(url: string): Promise<void> {
	const res = await get(url);
	const body = await res.text();
	expect({ url, status: res.status, svg: /<svg[\s>]/.test(body) }).toEqual({ url, status: 200, svg: true });
}

beforeAll(async () => {
	instance = await freshInstance('editor');
	const started = Date.now();
	n8n = await startN8n(instance);
	console.log(`n8n start until the REST API answered: ${((Date.now() - started) / 1000).toFixed(1)} s`);
	cookie = await setupOwner(n8n.url);
});

afterAll(async () => {
	await n8n?.stop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

describe('the n8n editor', () => {
	it('lists every node of the package, with its icon served', async () => {
		const expected = installedPackage().nodes;
		expect(expected.map((n) => n.name)).toEqual(expect.arrayContaining(['totvsDump', 'totvsVerify']));
		const listed = await getJson<Described[]>(`${n8n!.url}/types/nodes.json`);
		for (const node of expected) {
			const entry = listed.find((n) => n.name === `${PACKAGE_NAME}.${node.name}`);
			expect({ node: node.name, listed: entry?.displayName }).toEqual({ node: node.name, listed: node.displayName });
			await expectSvg(`${n8n!.url}/${iconPath(entry!)}`);
		}
		console.log(`nodes listed with icons: ${expected.map((n) => n.name).join(', ')}`);
	});

	it('lists every credential of the package, with its icon served', async () => {
		const expected = installedPackage().credentials;
		expect(expected.map((c) => c.name)).toContain('totvsPostgres');
		const listed = await getJson<Described[]>(`${n8n!.url}/types/credentials.json`);
		for (const credential of expected) {
			const entry = listed.find((c) => c.name === credential.name);
			expect({ credential: credential.name, listed: entry?.displayName }).toEqual({
				credential: credential.name,
				listed: credential.displayName,
			});
			await expectSvg(`${n8n!.url}/${iconPath(entry!)}`);
		}
		console.log(`credentials listed with icons: ${expected.map((c) => c.name).join(', ')}`);
	});

	describe('what a user sees of our nodes', () => {
		let served: INodeTypeDescription[];
		const node = (name: string) => {
			const found = served.find((n) => n.name === `${PACKAGE_NAME}.${name}`);
			if (!found) throw new Error(`${name} is not in the editor's node list`);
			return found;
		};

		beforeAll(async () => {
			served = (await getJson<INodeTypeDescription[]>(`${n8n!.url}/types/nodes.json`)).filter((n) =>
				n.name.startsWith(`${PACKAGE_NAME}.`),
			);
		});

		it('no operation list offers n8n\'s "Custom API Call"', () => {
			const injected = served.flatMap((n) =>
				n.properties
					.filter((p) => ['resource', 'operation'].includes(p.name))
					.flatMap((p) => (p.options ?? []).filter((o) => 'value' in o && o.value === '__CUSTOM_API_CALL__'))
					.map(() => n.name),
			);
			expect(served.map((n) => n.name)).toContain(`${PACKAGE_NAME}.totvsUpload`);
			expect(injected).toEqual([]);
		});

		it('options follow the operation and the format', () => {
			const upload = node('totvsUpload');
			expect(addOption(upload, { operation: 'upload' }).sort()).toEqual(['language', 'readBack', 'waitForLockSeconds']);
			expect(addOption(upload, { operation: 'list' }).sort()).toEqual(['includeUnfinished', 'language']);
			const dump = node('totvsDump');
			expect(addOption(dump, { source: 'postgres' })).not.toContain('jobs');
			expect(addOption(dump, { source: 'postgres', options: { format: 'directory' } })).toContain('jobs');
			const restorePoint = panel(dump, { source: 'postgresAndFiles' });
			expect(restorePoint.indexOf('Options')).toBeGreaterThan(restorePoint.indexOf('Appserver.ini Path'));
		});

		it('subtitles in words', () => {
			expect(subtitleOf(node('totvsUpload'), { operation: 'upload', destination: 'googleDrive' })).toBe(
				'Upload to Google Drive',
			);
			expect(subtitleOf(node('totvsUpload'), { operation: 'prune', destination: 'sftp' })).toBe('Prune on SFTP');
			expect(subtitleOf(node('totvsMonitor'), { output: 'prometheus' })).toBe('Prometheus Metrics');
		});

		it('texts without backticks or tags the sanitizer drops', () => {
			const texts = JSON.stringify(served.map((n) => n.properties));
			expect(texts).not.toContain('`');
			const credentials = JSON.stringify(installedPackage().credentials);
			expect(credentials).toContain('folders/&lt;ID&gt;');
		});

		it('placeholders and added switches mean what they show', async () => {
			const staging = node('totvsDump').properties.find((p) => p.name === 'stagingFolder');
			expect(staging?.placeholder).toContain('~/.n8n-files/totvs-backups');
			const options = node('totvsRestoreTest').properties.find((p) => p.name === 'options');
			const htmlReport = (options?.options as Array<{ name: string; default?: unknown }>).find(
				(o) => o.name === 'htmlReport',
			);
			expect(htmlReport?.default).toBe(true);
			const listed = await getJson<Array<{ name: string; properties: Array<{ name: string; default?: unknown }> }>>(
				`${n8n!.url}/types/credentials.json`,
			);
			const ftp = listed.find((c) => c.name === 'totvsFtp');
			expect(ftp?.properties.find((p) => p.name === 'port')?.default).toBe(21);
		});
	});
});
