/**
 * `npm run n8n`: a real n8n 2.x on http://localhost:5678 with this package installed (packed
 * and installed like the community-nodes UI does) and the examples imported, to see and edit
 * the workflows in the editor.
 *
 * - n8n and Node 24 come from the cache folder (support/n8n-env.ts; installed on first use).
 * - The n8n user folder is kept between runs in <cache>/dev-instance (your edits stay); the
 *   package and the examples are re-installed / re-imported on every start (same workflow ids,
 *   so the examples are replaced, other workflows are left alone).
 * - A throwaway PostgreSQL with a small demo Protheus database is started, and the examples'
 *   "Protheus PostgreSQL" credential points at it, so "Execute workflow" works right away.
 *   Slack and SMTP credentials are yours to fill in.
 *
 * Environment: N8N_PORT (default 5678), TOTVS_N8N_CACHE (cache folder).
 * Stop with Ctrl+C: n8n and the demo database stop with it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { createRole, startPostgres } from '../support/postgres';
import {
	cacheRoot,
	importCredentials,
	importWorkflow,
	instanceWithThisPackage,
	OWNER,
	REPO_ROOT,
	setupOwner,
	startN8n,
} from '../support/n8n-env';

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

/** The credential id and name the examples refer to. */
const EXAMPLE_PG_CREDENTIAL = { id: 'TotvsPgExample01', name: 'Protheus PostgreSQL' };

/** A stable encryption key for the kept user folder (credentials stay readable across runs). */
function encryptionKey(userFolder: string): string {
	const file = path.join(userFolder, 'encryption-key');
	if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
	return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
	const port = Number(process.env.N8N_PORT || 5678);
	const userFolder = path.join(cacheRoot(), 'dev-instance');
	mkdirSync(userFolder, { recursive: true });
	const instance = await instanceWithThisPackage({ userFolder, port, encryptionKey: encryptionKey(userFolder) });

	console.log('Starting a throwaway PostgreSQL with a demo Protheus database…');
	const pg = await startPostgres();
	const database = 'protheus_demo';
	const user = 'totvs_backup';
	const password = randomBytes(12).toString('base64url');
	await createProtheusDatabase(pg, { name: database, scale: 2000 });
	await createRole(pg, user, password, { memberOf: ['pg_read_all_data'] });

	console.log('Importing the credential and the examples…');
	await importCredentials(instance, [
		{
			...EXAMPLE_PG_CREDENTIAL,
			type: 'totvsPostgres',
			data: { host: pg.host, port: pg.port, database, user, password, sslMode: 'disable', binFolder: pg.binDir },
		},
	]);
	const examples = readdirSync(EXAMPLES_DIR)
		.filter((f) => f.endsWith('.json'))
		.sort();
	for (const file of examples) {
		const workflow = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as { id: string; name: string };
		await importWorkflow(instance, workflow);
		console.log(`  ${file} -> "${workflow.name}"`);
	}

	console.log(`Starting n8n on port ${port}…`);
	const n8n = await startN8n(instance);
	n8n.process.stdout?.pipe(process.stdout);
	n8n.process.stderr?.pipe(process.stderr);
	let login = `sign in with your owner account (or delete ${userFolder} to start over)`;
	try {
		await setupOwner(n8n.url);
		login = `sign in as ${OWNER.email} / ${OWNER.password}`;
	} catch {
		// The owner was set up by an earlier run.
	}
	let stopping = false;
	const stop = async () => {
		stopping = true;
		await n8n.stop();
		await pg.stop();
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	console.log(
		[
			'',
			`n8n ${instance.install.n8nVersion} is running: http://localhost:${port}`,
			`  ${login}`,
			`  examples: ${examples.join(', ')} (Overview -> Workflows)`,
			`  "${EXAMPLE_PG_CREDENTIAL.name}" points at the demo database ${database} on ${pg.host}:${pg.port}`,
			`  backup sets go to ${path.join(userFolder, '.n8n-files', 'totvs-backups')}`,
			'Ctrl+C stops n8n and the demo database.',
		].join('\n'),
	);
	await new Promise<void>((resolve) => n8n.process.on('exit', () => resolve()));
	if (stopping) return; // Ctrl+C: stop() finishes and exits 0
	await pg.stop();
	console.error('n8n exited.');
	process.exit(1);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
