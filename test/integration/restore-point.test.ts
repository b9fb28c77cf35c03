/**
 * Manual Trigger → TOTVS Dump (Database + Files) → TOTVS Verify in n8n's real engine: one
 * restore point made of a PostgreSQL set and a Protheus files set sharing a restorePointId.
 */
import {
	chmodSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INodeParameters } from 'n8n-workflow';
import { readSet } from '../../core/backup-set/catalog';
import { manifestOf } from '../../core/backup-set/manifest';
import { restoreFilesChain } from '../../core/sources/protheus-files/restore/chain-restore';
import { createProtheusDatabase, describeProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import {
	createProtheusTree,
	snapshotTree,
	type ProtheusTree,
	type TreeNode,
} from '../../support/fixtures/protheus-tree';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { credentialFor, dumpVerifyWorkflow, runTotvsWorkflow } from '../../support/totvs-workflow';

const server = sharedPostgres();
let database: string;
let work: string;
let tree: ProtheusTree;
let staging: string;

beforeAll(async () => {
	database = uniqueName('protheus_rp');
	await createProtheusDatabase(server, { name: database, scale: 100 });
	work = mkdtempSync(join(tmpdir(), 'totvs-restore-point-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 200, rpoBytes: 1 << 20, tables: 3 });
});
afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
	staging = mkdtempSync(join(work, 'staging-'));
});

const setsIn = (folder: string) => (existsSync(join(folder, 'prod')) ? readdirSync(join(folder, 'prod')).sort() : []);

function restorePointWorkflow(dump: INodeParameters, continueOnFail = false) {
	return dumpVerifyWorkflow({
		dumpParameters: {
			source: 'postgresAndFiles',
			stagingFolder: staging,
			folders: `${tree.protheusData}\n${tree.apo}`,
			filesBackupType: 'full',
			// Everything under the folders, so the restored tree must equal the source exactly.
			filesOptions: { protheusDefaults: false },
			...dump,
		},
		continueOnFail,
	});
}

/** Type, size, content hash and link target of every entry: what a restore must give back. */
const contentOf = (snapshot: Map<string, TreeNode>) =>
	[...snapshot]
		.map(([path, n]) => ({ path, type: n.type, size: n.size, sha256: n.sha256, target: n.target }))
		.sort((a, b) => a.path.localeCompare(b.path));

describe('TOTVS Dump (Database + Files) → TOTVS Verify in n8n', () => {
	it('makes two verified sets of one restore point: database first, then files', async () => {
		const result = await runTotvsWorkflow(restorePointWorkflow({}), credentialFor(server, database));
		expect(result.error).toBeUndefined();
		expect(result.status).toBe('success');

		const dumped = result.jsonOf('TOTVS Dump');
		expect(dumped.map((d) => [d.component, d.engine, d.type, d.status])).toEqual([
			['database', 'postgres', 'full', 'ok'],
			['files', 'protheus-files', 'full', 'ok'],
		]);
		expect(result.outputOf('TOTVS Dump').map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		const restorePointId = dumped[0].restorePointId as string;
		expect(restorePointId).toMatch(/^prod-\d{8}T\d{6}Z-rp-[0-9a-f]{6}$/);
		expect(dumped[1].restorePointId).toBe(restorePointId);
		expect(setsIn(staging)).toEqual([dumped[0].backupId, dumped[1].backupId].sort());

		const verified = result.jsonOf('TOTVS Verify');
		expect(
			verified.map((v) => [v.backupId, v.restorePointId, v.status, (v.verification as { ok: boolean }).ok]),
		).toEqual([
			[dumped[0].backupId, restorePointId, 'ok', true],
			[dumped[1].backupId, restorePointId, 'ok', true],
		]);

		// Both manifests record the restore point.
		const dbManifest = manifestOf(await readSet(dumped[0].location as string), 'postgres');
		const filesManifest = manifestOf(await readSet(dumped[1].location as string), 'protheus-files');
		expect(dbManifest.restorePointId).toBe(restorePointId);
		expect(filesManifest.restorePointId).toBe(restorePointId);

		// The database set describes the live database, table by table.
		const live = await describeProtheusDatabase(server, database);
		expect(dbManifest.source.database).toBe(database);
		expect(dbManifest.inventory.tables.map((t) => [t.name, t.rows]).sort()).toEqual(
			live.tables.map((t) => [t.name, t.rows]).sort(),
		);
		expect(dumped[0].rowCount).toBe(live.tables.reduce((sum, t) => sum + t.rows, 0));

		// The files set restores to exactly the source folders.
		const target = join(work, 'restored');
		await restoreFilesChain({ setFolder: dumped[1].location as string, target });
		expect(contentOf(await snapshotTree(join(target, 'protheus_data')))).toEqual(
			contentOf(await snapshotTree(tree.protheusData)),
		);
		expect(contentOf(await snapshotTree(join(target, 'apo')))).toEqual(contentOf(await snapshotTree(tree.apo)));
		expect(dumped[1].fileCount).toBe(filesManifest.inventory.totals.files);
		expect(filesManifest.inventory.totals.files).toBeGreaterThan(200);
	});

	it('a failing database (wrong password) makes no files set and says so', async () => {
		const wrong = { ...credentialFor(server, database), password: 'wrong-password' };
		const failed = await runTotvsWorkflow(restorePointWorkflow({}), wrong);
		expect(failed.status).toBe('error');
		expect(failed.error).toMatchObject({ name: 'NodeOperationError', node: { name: 'TOTVS Dump' } });
		expect(failed.error?.message).toMatch(/refused user/);
		expect(failed.error?.message).toMatch(/restore point prod-\S+ not made \(no files set without its database\)/);
		expect(failed.error?.description).toMatch(/The files set was not made/);
		expect(setsIn(staging)).toEqual([]);

		// With Continue On Fail: one failed item for the input, passed through Verify untouched.
		const reported = await runTotvsWorkflow(restorePointWorkflow({}, true), wrong);
		const items = reported.jsonOf('TOTVS Dump');
		expect(items).toHaveLength(1);
		expect(items[0].status).toBe('failed');
		expect((items[0].error as { message: string }).message).toMatch(/refused user.*not made/);
		expect(reported.jsonOf('TOTVS Verify')).toEqual(items);
		expect(setsIn(staging)).toEqual([]);
		expect(JSON.stringify(reported.logs)).not.toContain('wrong-password');
	});

	it('files that cannot be backed up fail before the database is dumped: nothing written', async () => {
		const missing = join(work, 'no-such-folder');
		const result = await runTotvsWorkflow(
			restorePointWorkflow({ folders: missing }, true),
			credentialFor(server, database),
		);
		const items = result.jsonOf('TOTVS Dump');
		expect(items).toHaveLength(1);
		const error = items[0].error as { message: string; description: string };
		expect(items[0].status).toBe('failed');
		expect(error.message).toContain(missing);
		expect(error.message).toMatch(/restore point prod-\S+ not made$/);
		expect(error.description).toContain('Nothing was written');
		expect(setsIn(staging)).toEqual([]);
	});

	it('files failing after the database keep the valid database set and report the missing half', async () => {
		// The files folder disappears while pg_dump runs (a stand-in that removes it, then runs the real one).
		const vanishing = join(work, 'vanishing');
		mkdirSync(join(vanishing, 'system'), { recursive: true });
		writeFileSync(join(vanishing, 'system', 'sx2.dtc'), 'dictionary');
		const bin = mkdtempSync(join(work, 'bin-'));
		writeFileSync(
			join(bin, 'pg_dump'),
			`#!/bin/sh\ncase "$1" in --version) exec "${server.binDir}/pg_dump" --version;; esac\nrm -rf "${vanishing}"\nexec "${server.binDir}/pg_dump" "$@"\n`,
		);
		chmodSync(join(bin, 'pg_dump'), 0o755);
		symlinkSync(join(server.binDir, 'pg_restore'), join(bin, 'pg_restore'));

		const result = await runTotvsWorkflow(restorePointWorkflow({ folders: vanishing }, true), {
			...credentialFor(server, database),
			binFolder: bin,
		});
		const [db, files, ...rest] = result.jsonOf('TOTVS Dump');
		expect(rest).toHaveLength(0);
		expect(existsSync(vanishing)).toBe(false);
		expect(db).toMatchObject({ component: 'database', status: 'ok' });
		expect(files).toMatchObject({
			component: 'files',
			status: 'failed',
			restorePointId: db.restorePointId,
			databaseBackupId: db.backupId,
		});
		expect(result.outputOf('TOTVS Dump').map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		const error = files.error as { message: string; description: string };
		expect(error.message).toContain(vanishing);
		expect(error.message).toMatch(/restore point prod-\S+ is incomplete$/);
		expect(error.description).toContain(
			`Database set ${db.backupId as string} of this restore point is complete and valid`,
		);
		expect(setsIn(staging)).toEqual([db.backupId]);
		expect(result.jsonOf('TOTVS Verify').map((v) => [v.component, v.status])).toEqual([
			['database', 'ok'],
			['files', 'failed'],
		]);

		// Without Continue On Fail the node fails on the files, naming the database set that was kept.
		mkdirSync(join(vanishing, 'system'), { recursive: true });
		const thrown = await runTotvsWorkflow(restorePointWorkflow({ folders: vanishing }), {
			...credentialFor(server, database),
			binFolder: bin,
		});
		expect(thrown.status).toBe('error');
		expect(thrown.error?.message).toMatch(/is incomplete$/);
		expect(thrown.error?.description).toMatch(
			/Database set prod-\S+-full-db(-\d+)? of this restore point is complete and valid/,
		);
		expect(setsIn(staging)).toHaveLength(2);
	});
});
