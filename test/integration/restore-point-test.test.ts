/**
 * Restore Test of a restore point against the real PostgreSQL server and the real files chain
 * restore: a restore point made by makeRestorePoint (database set, then files set) is found by
 * its id or as the latest, both halves restore-tested, and the pairing checked. Bad input: a
 * restore point whose files set is missing names the restore point and the missing half.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBackupError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { findRestorePoint, restoreReportHtml, restoreTestRestorePoint } from '../../core/restore-test';

import { makeRestorePoint, type RestorePointResult } from '../../core/restore-point';
import { SCRATCH_PREFIX } from '../../core/restore-shared/prefixes';
import { defaultDumpOptions, PostgresSource, type PostgresConnection } from '../../core/sources/postgres';
import { defaultRestoreOptions } from '../../core/sources/postgres/restore/pg-restore';
import { defaultFilesOptions, ProtheusFilesSource } from '../../core/sources/protheus-files';
import type { BackupResult } from '../../core/backup';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { createProtheusTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';

const server = sharedPostgres();
let database: string;
let work: string;
let tree: ProtheusTree;
let staging: string;
let point: RestorePointResult;

const connection = (db: string): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database: db,
	user: server.user,
	password: server.password,
	sslMode: 'disable',
	binFolder: server.binDir,
});
const databaseServer = () => ({
	engine: 'postgres' as const,
	connection: connection('postgres'),
	restore: defaultRestoreOptions,
	freshnessDays: 0,
});

beforeAll(async () => {
	database = uniqueName('protheus_rpt');
	await createProtheusDatabase(server, { name: database, scale: 50 });
	work = mkdtempSync(join(tmpdir(), 'totvs-rp-test-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 60, rpoBytes: 256 << 10, tables: 2 });
	staging = join(work, 'staging');
	mkdirSync(staging);
	point = await makeRestorePoint({
		database: { source: new PostgresSource(), connection: connection(database), options: defaultDumpOptions },
		files: {
			source: new ProtheusFilesSource(),
			options: { ...defaultFilesOptions, appserverIni: tree.appserverIni },
			type: 'full',
		},
		environment: 'prod',
		stagingFolder: staging,
		log: silentLogger,
	});
}, 300_000);
afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

const scratchDatabases = async () =>
	(await server.admin<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${SCRATCH_PREFIX}%'`))
		.map((r) => r.datname)
		.filter((n) => n.includes('prod'));

describe('Restore Test of a restore point', () => {
	it('restore-tests the database and the files of the latest restore point together', async () => {
		const scratch = mkdtempSync(join(work, 'scratch-'));
		const report = await restoreTestRestorePoint({
			backupsFolder: staging,
			environment: 'prod',
			databaseServer: databaseServer(),
			filesServer: { engine: 'protheus-files', scratchFolder: scratch },
			keepOnFailure: false,
			log: silentLogger,
		});
		const failed = report.checks.filter((c) => !c.ok && !c.notRun);
		expect(failed).toEqual([]);
		expect(report.passed).toBe(true);
		expect(report.restorePointId).toBe(point.restorePointId);
		expect(report.backupId).toBe(point.restorePointId);
		expect(report.checks.slice(0, 3).map((c) => [c.name, c.ok])).toEqual([
			['restore point', true],
			['both restored', true],
			['order', true],
		]);
		const names = report.checks.map((c) => c.name);
		expect(names).toEqual(expect.arrayContaining(['database: tables', 'files: tree', 'files: P12 SourcePath']));
		expect(report.parts.database.backupId).toBe(point.database.manifest.backupId);
		expect(report.parts.files.backupId).toBe((point.files as BackupResult).manifest.backupId);
		expect(report.restoreMs).toBe(report.parts.database.restoreMs + report.parts.files.restoreMs);
		expect(readdirSync(scratch)).toEqual([]);
		expect(await scratchDatabases()).toEqual([]);
		expect(restoreReportHtml(report, 'pt-BR')).toContain('files: P12 RpoCustom');
	});

	it('finds a restore point by its id', async () => {
		const sets = await findRestorePoint(staging, 'prod', point.restorePointId);
		expect([sets.database.backupId, sets.files.backupId]).toEqual([
			point.database.manifest.backupId,
			(point.files as BackupResult).manifest.backupId,
		]);
	});

	it('a restore point whose files set is missing is a clear error naming both; nothing is touched', async () => {
		const copy = mkdtempSync(join(work, 'copy-'));
		const dbId = point.database.manifest.backupId;
		cpSync(join(staging, 'prod', dbId), join(copy, 'prod', dbId), { recursive: true });
		for (const id of [point.restorePointId, '']) {
			const error = await restoreTestRestorePoint({
				backupsFolder: copy,
				environment: 'prod',
				restorePointId: id,
				databaseServer: databaseServer(),
				keepOnFailure: false,
				log: silentLogger,
			}).catch((e: unknown) => e);
			expect(isBackupError(error) && error.code).toBe('SET_NOT_FOUND');
			expect((error as Error).message).toContain(`Restore point ${point.restorePointId} is incomplete`);
			expect((error as Error).message).toContain(`its files set is missing (only the database set ${dbId} is there)`);
		}
		expect(readdirSync(join(copy, 'prod'))).toEqual([dbId]);
		expect(await scratchDatabases()).toEqual([]);
	});

	it('an unknown restore point id says so', async () => {
		await expect(findRestorePoint(staging, 'prod', 'prod-20200101T000000Z-rp-000000')).rejects.toThrow(
			/Restore point prod-20200101T000000Z-rp-000000 has no set in/,
		);
	});
});
