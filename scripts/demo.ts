/**
 * npm run demo: the whole nightly job on a built-in demo environment, in one command. Starts a
 * throwaway PostgreSQL (the machine's PostgreSQL binaries), creates a small Protheus-like
 * database, and runs Manual Trigger -> TOTVS Dump -> TOTVS Verify -> TOTVS Upload (a local
 * folder standing in for the off-site destination) -> TOTVS Restore Test (the latest set of the
 * environment, taken back from that destination, restored into a scratch database and checked)
 * in n8n's engine with the BUILT package (dist/). Prints a short report of what each node did.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../support/n8n-engine';
import { createRole, startPostgres } from '../support/postgres';

// The built package, as n8n loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../dist/index.js');

const TYPE = 'n8n-nodes-totvs-backup';
const NAMES = ['Start', 'TOTVS Dump', 'TOTVS Verify', 'TOTVS Upload', 'TOTVS Restore Test'];
const shown = (path: string) => `./${relative(process.cwd(), path)}`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

async function main() {
	// The local set in demo-backups/<environment>/, the "off-site" copy in demo-backups/offsite/<environment>/.
	const staging = resolve('demo-backups');
	const offsite = join(staging, 'offsite');
	mkdirSync(offsite, { recursive: true });
	process.stdout.write('Starting a throwaway PostgreSQL server… ');
	const server = await startPostgres();
	try {
		const fixture = await createProtheusDatabase(server, { name: 'protheus_demo', scale: 2000 });
		const rows = fixture.tables.reduce((s, t) => s + t.rows, 0);
		console.log(
			`PostgreSQL ${server.version}, database protheus_demo (WIN1252): ${fixture.tables.length} tables, ${rows} rows, ${mib(fixture.sizeBytes)}`,
		);
		const password = 'demo-backup-password';
		await createRole(server, 'totvs_backup', password, { memberOf: ['pg_read_all_data'] });
		const pgData = { host: server.host, port: server.port, sslMode: 'disable', binFolder: server.binDir };

		console.log(`Running ${NAMES.slice(1).join(' -> ')} in n8n's engine…\n`);
		const result = await runWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{
						name: 'TOTVS Dump',
						type: `${TYPE}.totvsDump`,
						parameters: { environment: 'demo', stagingFolder: staging },
						credentials: { totvsPostgres: { id: 'source', name: 'Demo Protheus' } },
					},
					{ name: 'TOTVS Verify', type: `${TYPE}.totvsVerify`, parameters: {} },
					{
						name: 'TOTVS Upload',
						type: `${TYPE}.totvsUpload`,
						parameters: { destination: 'local', localFolder: offsite, operation: 'upload' },
					},
					{
						name: 'TOTVS Restore Test',
						type: `${TYPE}.totvsRestoreTest`,
						parameters: {
							setSource: 'destination',
							destination: 'local',
							localFolder: offsite,
							environment: 'demo',
							pick: 'latest',
							stagingFolder: staging,
							options: { htmlReport: true },
						},
						credentials: { totvsPostgres: { id: 'restore', name: 'Demo restore server' } },
					},
				],
				connections: Object.fromEntries(
					NAMES.slice(0, -1).map((name, i) => [name, { main: [[{ node: NAMES[i + 1], type: 'main', index: 0 }]] }]),
				),
			},
			{
				nodeTypes: packageNodeTypes([
					new pkg.TotvsDump(),
					new pkg.TotvsVerify(),
					new pkg.TotvsUpload(),
					new pkg.TotvsRestoreTest(),
				]),
				credentialTypes: [new pkg.TotvsPostgres()],
				credentials: {
					source: {
						type: 'totvsPostgres',
						name: 'Demo Protheus',
						data: { ...pgData, database: 'protheus_demo', user: 'totvs_backup', password },
					},
					// Restore Test creates (and drops) a scratch database: it needs a user allowed to.
					restore: {
						type: 'totvsPostgres',
						name: 'Demo restore server',
						data: { ...pgData, database: 'postgres', user: server.user, password: server.password },
					},
				},
			},
		);
		if (result.error) {
			const error = result.error as { message: string; description?: string; node?: { name: string } };
			console.error(
				`The workflow stopped in ${error.node?.name ?? 'a node'}: ${error.message}\n${error.description ?? ''}`,
			);
			process.exitCode = 1;
			return;
		}
		for (const name of NAMES.slice(1)) {
			const item = result.jsonOf(name)[0];
			console.log(`${name.padEnd(19)} ${String(item.status).toUpperCase().padEnd(6)} ${item.summary}`);
		}

		const [output] = result.outputOf('TOTVS Restore Test');
		const tested = output.json;
		const section = tested.restoreTest as { checks: Array<{ name: string; ok: boolean }>; source?: IDataObject };
		const dumped = result.jsonOf('TOTVS Dump')[0];
		const uploaded = result.jsonOf('TOTVS Upload')[0];
		const failed = section.checks.filter((c) => !c.ok).map((c) => c.name);
		console.log(
			`\nRestore test checks  ${section.checks.length - failed.length}/${section.checks.length} passed${failed.length ? ` (FAILED: ${failed.join(', ')})` : ''}`,
		);
		console.log(`Backup set           ${shown(dumped.location as string)} (${mib(dumped.totalBytes as number)})`);
		console.log(
			`Off-site copy        ${shown(join(offsite, (uploaded.uploads as IDataObject[])[0].remotePath as string))}`,
		);
		const report = output.binary?.report;
		if (report) {
			const file = join(staging, report.fileName ?? 'restore-test.html');
			writeFileSync(file, Buffer.from(report.data, 'base64'));
			console.log(`HTML report          ${shown(file)}`);
		}
		if (NAMES.slice(1).some((name) => result.jsonOf(name)[0].status !== 'ok')) process.exitCode = 1;
	} finally {
		await server.stop();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
