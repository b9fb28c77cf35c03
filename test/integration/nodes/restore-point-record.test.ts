/**
 * TOTVS Restore Test "Test Restore Point" from a destination (a local folder here) leaves a
 * restore-test record beside each half (the database set and the files set), as "Test Database
 * Set" does for one set, passed or not; TOTVS Monitor then sees the environment restore-tested.
 * From a backups folder nothing is recorded (no destination to record on).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import type { BackupResult } from '../../../core/backup';
import { openDestination } from '../../../core/destinations';
import { silentLogger } from '../../../core/logger';
import { runMonitor } from '../../../core/monitor';
import { makeRestorePoint, type RestorePointResult } from '../../../core/restore-point';
import { listRestoreRecords } from '../../../core/restore-record';
import { filesRestoreHost } from '../../../core/restore-test';
import { defaultDumpOptions, PostgresSource, type PostgresConnection } from '../../../core/sources/postgres';
import { defaultFilesOptions, ProtheusFilesSource } from '../../../core/sources/protheus-files';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { createProtheusTree } from '../../../support/fixtures/protheus-tree';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { credentialFor } from '../../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const ENV = 'rprecord';

const server = sharedPostgres();
let database: string;
let work: string;
let staging: string;
let offsite: string;
let point: RestorePointResult;
let ids: { database: string; files: string };

const connection = (db: string): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database: db,
	user: server.user,
	password: server.password,
	sslMode: 'disable',
	binFolder: server.binDir,
});

beforeAll(async () => {
	database = uniqueName('protheus_rprec');
	await createProtheusDatabase(server, { name: database, scale: 5 });
	work = mkdtempSync(join(tmpdir(), 'totvs-rp-record-'));
	const tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 20, rpoBytes: 64 << 10, tables: 2 });
	staging = join(work, 'staging');
	offsite = join(work, 'offsite');
	mkdirSync(staging);
	point = await makeRestorePoint({
		database: { source: new PostgresSource(), connection: connection(database), options: defaultDumpOptions },
		files: {
			source: new ProtheusFilesSource(),
			options: { ...defaultFilesOptions, appserverIni: tree.appserverIni },
			type: 'full',
		},
		environment: ENV,
		stagingFolder: staging,
		log: silentLogger,
	});
	ids = { database: point.database.manifest.backupId, files: (point.files as BackupResult).manifest.backupId };
	// A local-folder destination holds sets in the staging layout: <environment>/<backupId>/.
	for (const id of Object.values(ids)) cpSync(join(staging, ENV, id), join(offsite, ENV, id), { recursive: true });
}, 300_000);
afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

async function testRestorePoint(parameters: INodeParameters): Promise<IDataObject> {
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'Node',
					type: RESTORE_TEST_TYPE,
					parameters: {
						operation: 'restorePoint',
						restoreServer: 'postgres',
						environment: ENV,
						pick: 'latest',
						...parameters,
					},
					continueOnFail: true,
					credentials: { totvsPostgres: { id: 'restore', name: 'restore' } },
				},
			],
			connections: { Start: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsRestoreTest()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: { restore: { type: 'totvsPostgres', name: 'restore', data: credentialFor(server, 'postgres') } },
		},
	);
	expect(result.error).toBeUndefined();
	return result.jsonOf('Node')[0];
}

const fromDestination = (folder = offsite) =>
	testRestorePoint({
		setSource: 'destination',
		destination: 'local',
		localFolder: folder,
		stagingFolder: staging,
		options: { freshnessDays: 0, scratchFolder: mkdtempSync(join(work, 'scratch-')) },
	});

const monitor = (folder = offsite) =>
	runMonitor([{ label: 'offsite', open: () => openDestination({ type: 'local', folder }) }], {
		environments: [ENV],
		thresholds: { maxRestoreTestAgeDays: 7 },
	});

async function records(folder = offsite) {
	const destination = openDestination({ type: 'local', folder });
	try {
		return await listRestoreRecords(destination, ENV);
	} finally {
		await destination.close();
	}
}

describe('Test Restore Point from a destination records each half', () => {
	it('from a backups folder: no record, and TOTVS Monitor says the environment was never restore-tested', async () => {
		const item = await testRestorePoint({
			setSource: 'folder',
			backupsFolder: staging,
			options: { freshnessDays: 0, scratchFolder: mkdtempSync(join(work, 'scratch-')) },
		});
		expect(item).toMatchObject({ status: 'ok', restoreTest: { passed: true, records: [] } });
		expect(await records()).toEqual([]);
		const { results } = await monitor();
		expect(results[0].figures.restoreTests.count).toBe(0);
		expect(results[0].reasons.map((r) => r.code)).toContain('never-restore-tested');
	});

	it('passed: a record beside the database set and one beside the files set; TOTVS Monitor sees them as tested', async () => {
		const item = await fromDestination();
		expect(item.status).toBe('ok');
		const section = item.restoreTest as IDataObject & { records: IDataObject[]; scratchFolder: string };
		const listed = await records();
		expect(listed.map((r) => [r.testedId, r.outcome]).sort()).toEqual(
			[
				[ids.database, 'passed'],
				[ids.files, 'passed'],
			].sort(),
		);
		const destination = openDestination({ type: 'local', folder: offsite }).describe();
		expect(section.records.map((r) => r.backupId).sort()).toEqual([ids.database, ids.files].sort());
		for (const r of section.records)
			expect(r).toEqual({
				backupId: r.backupId,
				destination,
				remotePath: listed.find((l) => l.testedId === r.backupId)!.remotePath,
			});
		const of = (id: string) => listed.find((l) => l.testedId === id)!.record!;
		expect(of(ids.database)).toMatchObject({
			backupIds: [ids.database],
			engine: 'postgres',
			passed: true,
			restoreServer: { engine: 'postgres', host: server.host, port: server.port, target: section.scratchDatabase },
			sourceDestination: destination,
		});
		expect(of(ids.files)).toMatchObject({
			backupIds: [ids.files],
			engine: 'protheus-files',
			passed: true,
			restoreServer: { engine: 'protheus-files', host: filesRestoreHost(), target: section.scratchFolder },
			sourceDestination: destination,
		});
		// Only the records were added beside the sets.
		expect(readdirSync(join(offsite, ENV)).sort()).toEqual(
			[ids.database, ids.files, ...listed.map((l) => l.fileName)].sort(),
		);

		const { results } = await monitor();
		const figures = results[0].figures.restoreTests;
		expect(figures.count).toBe(2);
		expect([ids.database, ids.files]).toContain(figures.newestPassed?.testedId);
		expect(figures.last?.passed).toBe(true);
		expect(results[0].reasons.map((r) => r.code)).not.toContain('never-restore-tested');
		expect(results[0].reasons.map((r) => r.code)).not.toContain('restore-test-failed');
	});

	it('failed (a table of the database half has other rows than its manifest says): both halves recorded, the database one as failed', async () => {
		// A copy whose database manifest records one row more in a table than the dump holds (unsigned sets).
		const copy = join(work, 'offsite-wrong-count');
		cpSync(offsite, copy, { recursive: true });
		const manifestPath = join(copy, ENV, ids.database, 'manifest.json');
		const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
			inventory: { tables: Array<{ rows: number }> };
		};
		manifest.inventory.tables[0].rows += 1;
		writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
		const before = (await records(copy)).length;

		const item = await fromDestination(copy);
		expect(item.status).toBe('failed');
		const section = item.restoreTest as { passed: boolean; records: IDataObject[] };
		expect(section.passed).toBe(false);
		expect(section.records).toHaveLength(2);
		const listed = await records(copy);
		expect(listed).toHaveLength(before + 2);
		const added = listed.filter((l) => section.records.some((r) => r.remotePath === l.remotePath));
		expect(added.map((l) => [l.testedId, l.outcome]).sort()).toEqual(
			[
				[ids.database, 'failed'],
				[ids.files, 'passed'],
			].sort(),
		);
		const { results } = await monitor(copy);
		expect(results[0].figures.restoreTests.count).toBe(before + 2);
		expect(results[0].reasons.map((r) => r.code)).not.toContain('never-restore-tested');
	});
});
