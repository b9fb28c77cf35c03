/**
 * npm run demo: the main job on a built-in demo environment. Starts a throwaway PostgreSQL
 * (the machine's PostgreSQL binaries), creates a small Protheus-like database, and runs
 * Manual Trigger -> TOTVS Dump -> TOTVS Verify in n8n's engine with the BUILT package (dist/),
 * writing the backup set into ./demo-backups. Prints what a user would read in n8n.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createProtheusDatabase } from '../test/fixtures/protheus-db';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../test/harness/n8n-engine';
import { createRole, startPostgres } from '../test/harness/postgres';

// The built package, as n8n loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../dist/index.js');

async function main() {
	const staging = resolve('demo-backups');
	mkdirSync(staging, { recursive: true });
	console.log('Starting a throwaway PostgreSQL server…');
	const server = await startPostgres();
	try {
		console.log(`PostgreSQL ${server.version} on ${server.host}:${server.port}; creating demo database "protheus_demo" (WIN1252, Protheus-like)…`);
		const fixture = await createProtheusDatabase(server, { name: 'protheus_demo', scale: 2000 });
		console.log(`  ${fixture.tables.length} tables, ${fixture.tables.reduce((s, t) => s + t.rows, 0)} rows, ${(fixture.sizeBytes / 1048576).toFixed(1)} MiB`);
		const password = 'demo-backup-password';
		await createRole(server, 'totvs_backup', password, { memberOf: ['pg_read_all_data'] });

		console.log('Running Manual Trigger -> TOTVS Dump -> TOTVS Verify in n8n\'s engine…');
		const result = await runWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{
						name: 'TOTVS Dump',
						type: 'n8n-nodes-totvs-backup.totvsDump',
						parameters: { environment: 'demo', stagingFolder: staging },
						credentials: { totvsPostgres: { id: 'demo', name: 'Demo Protheus' } },
					},
					{ name: 'TOTVS Verify', type: 'n8n-nodes-totvs-backup.totvsVerify', parameters: {} },
				],
				connections: {
					Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
					'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] },
				},
			},
			{
				nodeTypes: packageNodeTypes([new pkg.TotvsDump(), new pkg.TotvsVerify()]),
				credentialTypes: [new pkg.TotvsPostgres()],
				credentials: {
					demo: {
						type: 'totvsPostgres',
						name: 'Demo Protheus',
						data: { host: server.host, port: server.port, database: 'protheus_demo', user: 'totvs_backup', password, sslMode: 'disable', binFolder: server.binDir },
					},
				},
			},
		);
		if (result.error) {
			console.error(`\nThe workflow failed: ${result.error.message}`);
			process.exitCode = 1;
			return;
		}
		console.log(`\nTOTVS Dump: ${result.jsonOf('TOTVS Dump')[0].summary}`);
		const item = result.jsonOf('TOTVS Verify')[0];
		const verification = item.verification as { checks: Array<{ name: string; ok: boolean; actual: string }> };
		console.log('\nResult (the item TOTVS Verify emits):');
		console.log(`  status     ${item.status}`);
		console.log(`  backupId   ${item.backupId}`);
		console.log(`  location   ${item.location}`);
		console.log(`  size       ${item.totalBytes} bytes in ${(item.artifacts as unknown[]).length} artifact(s)`);
		for (const check of verification.checks) console.log(`  check      ${check.ok ? 'PASS' : 'FAIL'} ${check.name}: ${check.actual}`);
		console.log(`  summary    ${item.summary}`);
		console.log(`\nThe set (manifest.json + dump) is in ${item.location}`);
		if (item.status !== 'ok') process.exitCode = 1;
	} finally {
		await server.stop();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
