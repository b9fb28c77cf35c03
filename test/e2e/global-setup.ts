/**
 * jest globalSetup of the e2e tests: a real n8n and this package, packed and installed like a
 * user would, plus the shared PostgreSQL server of the other suites.
 *
 * 1. Node 24 and n8n into the cache folder (support/n8n-env.ts; minutes on a fresh machine,
 *    instant afterwards).
 * 2. `npm pack` of this repository and `npm install` of the tarball into a template user
 *    folder's .n8n/nodes, as the community-nodes UI does. Each test file copies it into its own
 *    fresh user folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureN8n, installCommunityPackage, packThisPackage } from '../../support/n8n-env';
import startSharedPostgres from '../setup/global-setup';
import { TEMPLATE_ENV } from './n8n-cli';

export const E2E_WORK_ENV = 'TOTVS_E2E_WORK_DIR';

function timed<T>(what: string, fn: () => T): T {
	const started = Date.now();
	const value = fn();
	process.stderr.write(`[e2e setup] ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
	return value;
}

export default async function globalSetup(): Promise<void> {
	process.stderr.write('\n');
	const install = timed('n8n install (cached after the first run)', () => ensureN8n());
	const work = mkdtempSync(path.join(os.tmpdir(), 'totvs-e2e-'));
	process.env[E2E_WORK_ENV] = work;
	try {
		const tarball = timed('npm run build + npm pack', () => packThisPackage(path.join(work, 'pack')));
		const template = path.join(work, 'template-user');
		timed('install the tarball into .n8n/nodes', () => installCommunityPackage(template, tarball, install.nodeDir));
		process.env[TEMPLATE_ENV] = template;
		await startSharedPostgres();
	} catch (error) {
		rmSync(work, { recursive: true, force: true });
		throw error;
	}
}
