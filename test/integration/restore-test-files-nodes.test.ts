/**
 * The files and restore-point operations of TOTVS Restore Test and TOTVS Restore inside n8n's
 * real engine, from a backups folder: Test Files Set (no credential), Test Restore Point (the
 * PostgreSQL half on the shared server, the files half in a scratch folder), Restore Files into a
 * non-empty folder with Replace (the old tree kept aside, the output names it) and without it (a
 * failed item, the folder untouched), and Restore Point (database, then files). Each output
 * carries the measured RTO (durationMs) and the bytes.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INodeParameters } from 'n8n-workflow';
import { LocalFolderDestination } from '../../core/destinations';
import { makeRestorePoint, type RestorePointResult } from '../../core/restore-point';
import { fetchRemoteRestorePoint } from '../../core/restore-test';
import { defaultRestoreOptions } from '../../core/sources/postgres/restore/pg-restore';
import { silentLogger } from '../../core/logger';
import { defaultDumpOptions, PostgresSource, type PostgresConnection } from '../../core/sources/postgres';
import { defaultFilesOptions, ProtheusFilesSource } from '../../core/sources/protheus-files';
import type { BackupResult } from '../../core/backup';
import { TotvsPostgres } from '../../credentials/TotvsPostgres.credentials';
import { TotvsRestore } from '../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { createProtheusTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { credentialFor } from '../../support/totvs-workflow';

const server = sharedPostgres();
let database: string;
let work: string;
let tree: ProtheusTree;
let staging: string;
let point: RestorePointResult;
const ENV = 'rpnodes';

const connection = (db: string): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database: db,
	user: server.user,
	password: server.password,
	sslMode: 'disable',
	binFolder: server.binDir,
});

function run(type: 'totvsRestoreTest' | 'totvsRestore', parameters: INodeParameters, withCredential = true) {
	const name = type === 'totvsRestore' ? 'TOTVS Restore' : 'TOTVS Restore Test';
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name,
					type: `${PACKAGE_NAME}.${type}`,
					parameters: { setSource: 'folder', backupsFolder: staging, environment: ENV, pick: 'latest', ...parameters },
					...(withCredential ? { credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } } } : {}),
				},
			],
			connections: { Start: { main: [[{ node: name, type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: {
				restore: { type: 'totvsPostgres', name: 'Restore server', data: credentialFor(server, 'postgres') },
			},
		},
	);
}

beforeAll(async () => {
	database = uniqueName('protheus_rpn');
	await createProtheusDatabase(server, { name: database, scale: 30 });
	work = mkdtempSync(join(tmpdir(), 'totvs-rp-nodes-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 40, rpoBytes: 128 << 10, tables: 2 });
	staging = join(work, 'staging');
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
}, 300_000);
afterAll(async () => {
	await dropDatabase(server, database);
	for (const name of ['totvs_restored_rpn']) await dropDatabase(server, name).catch(() => undefined);
	rmSync(work, { recursive: true, force: true });
});

describe('TOTVS Restore Test: files set and restore point, in n8n', () => {
	it('Test Files Set: passes every check with no credential, the report says "Files"', async () => {
		const scratch = mkdtempSync(join(work, 'scratch-'));
		const result = await run(
			'totvsRestoreTest',
			{ operation: 'files', options: { htmlReport: true, scratchFolder: scratch } },
			false,
		);
		expect(result.error).toBeUndefined();
		const [json] = result.jsonOf('TOTVS Restore Test');
		const test = json.restoreTest as Record<string, unknown>;
		expect((test.checks as Array<{ ok: boolean; notRun?: boolean }>).filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(test.passed).toBe(true);
		expect(json.backupId).toBe((point.files as BackupResult).manifest.backupId);
		expect(test.durationMs).toEqual(expect.any(Number));
		expect(test.bytes).toBeGreaterThan(0);
		expect(json.summary).toMatch(/Measured RTO: /);
		expect(readdirSync(scratch)).toEqual([]);
		const report = result.outputOf('TOTVS Restore Test')[0].binary!.report;
		const html = Buffer.from(report.data, 'base64').toString('utf8');
		expect(html).toContain('Files (restored folder)');
	});

	it('Test Restore Point: both halves and the pairing pass', async () => {
		const result = await run('totvsRestoreTest', {
			operation: 'restorePoint',
			restoreServer: 'postgres',
			options: { freshnessDays: 0, scratchFolder: mkdtempSync(join(work, 'scratch-')) },
		});
		expect(result.error).toBeUndefined();
		const [json] = result.jsonOf('TOTVS Restore Test');
		expect(json.restorePointId).toBe(point.restorePointId);
		const test = json.restoreTest as {
			passed: boolean;
			checks: Array<{ name: string; ok: boolean; notRun?: boolean }>;
		};
		expect(test.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(test.passed).toBe(true);
		expect(test.checks.map((c) => c.name)).toEqual(
			expect.arrayContaining(['restore point', 'both restored', 'order', 'database: tables', 'files: tree']),
		);
	});
});

describe('TOTVS Restore: Restore Files and Restore Point, in n8n', () => {
	it('Restore Files into a non-empty folder: refused without Replace, swapped in with it, the old tree kept aside', async () => {
		const parent = join(work, 'live');
		const target = join(parent, 'totvs');
		mkdirSync(target, { recursive: true });
		writeFileSync(join(target, 'old.txt'), 'old tree');

		const refused = await run('totvsRestore', { operation: 'files', targetFolder: target });
		expect(refused.error?.message).toMatch(/is not empty/);
		expect(readdirSync(target)).toEqual(['old.txt']);

		const result = await run('totvsRestore', { operation: 'files', targetFolder: target, replaceTarget: true }, false);
		expect(result.error).toBeUndefined();
		const restore = result.jsonOf('TOTVS Restore')[0].restore as Record<string, unknown>;
		expect(restore.passed).toBe(true);
		expect(restore.replaced).toBe(true);
		expect(restore.durationMs).toEqual(expect.any(Number));
		expect(restore.bytes).toBeGreaterThan(128 << 10);
		const oldTree = restore.oldTree as string;
		expect(readFileSync(join(oldTree, 'old.txt'), 'utf8')).toBe('old tree');
		expect(existsSync(join(target, 'old.txt'))).toBe(false);
		expect(readdirSync(parent).sort()).toEqual(['totvs', oldTree.split('/').pop()].sort());
	});

	it('Restore Point: the database, then the files', async () => {
		const target = join(work, 'rp-target');
		const result = await run('totvsRestore', {
			operation: 'restorePoint',
			restoreServer: 'postgres',
			targetDatabase: 'totvs_restored_rpn',
			targetFolder: target,
		});
		expect(result.error).toBeUndefined();
		const [json] = result.jsonOf('TOTVS Restore');
		const restore = json.restore as Record<string, unknown>;
		expect(restore.passed).toBe(true);
		expect(restore.database).toMatchObject({ passed: true, target: 'totvs_restored_rpn' });
		expect(restore.files).toMatchObject({ passed: true, target });
		expect(restore.durationMs).toEqual(expect.any(Number));
		expect(existsSync(join(target, 'protheus_data'))).toBe(true);
	});
});

describe('A restore point whose files set is missing', () => {
	it('on a destination: refused before anything is downloaded, naming the restore point and the missing half', async () => {
		const copy = mkdtempSync(join(work, 'half-'));
		cpSync(staging, copy, { recursive: true });
		const filesId = (point.files as BackupResult).manifest.backupId;
		rmSync(join(copy, ENV, filesId), { recursive: true });
		const download = mkdtempSync(join(work, 'dl-'));
		const error = await fetchRemoteRestorePoint(
			new LocalFolderDestination({ type: 'local', folder: copy }),
			{ engine: 'postgres', connection: connection('postgres'), restore: defaultRestoreOptions, freshnessDays: 0 },
			{ engine: 'protheus-files' },
			{ environment: ENV, restorePointId: point.restorePointId, stagingFolder: download },
		).then(
			() => undefined,
			(e: Error & { code?: string }) => e,
		);
		expect(error?.code).toBe('SET_NOT_FOUND');
		expect(error?.message).toContain(point.restorePointId);
		expect(error?.message).toContain('files set is missing');
		expect(readdirSync(download)).toEqual([]);
	});

	it('in TOTVS Restore Test from a backups folder: a failed item that says so', async () => {
		const copy = mkdtempSync(join(work, 'half-'));
		cpSync(staging, copy, { recursive: true });
		rmSync(join(copy, ENV, (point.files as BackupResult).manifest.backupId), { recursive: true });
		const result = await run('totvsRestoreTest', {
			operation: 'restorePoint',
			restoreServer: 'postgres',
			backupsFolder: copy,
			pick: 'backupId',
			restorePointId: point.restorePointId,
		});
		expect(result.error?.message).toMatch(/incomplete.*files set is missing/);
	});
});
