/**
 * The engine dispatch of Restore Test and Restore: the set's manifest names the engine, a restore
 * server of another engine is refused before anything connects, and a matching server runs that
 * engine's restore (SQL Server against the scripted FakeSqlServer; PostgreSQL's own restore is
 * covered by test/integration/restore-test.test.ts with a real server).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { serializeManifest } from '../../../core/backup-set/manifest';
import { LocalFolderDestination } from '../../../core/destinations';
import { silentLogger } from '../../../core/logger';
import {
	fetchRemoteSet,
	restoreSet,
	restoreTestSet,
	type PostgresRestoreServer,
	type SqlServerRestoreServer,
} from '../../../core/restore-test';
import { uploadSet } from '../../../core/upload/set-transfer';
import { createProtheusTree, filesBackup } from '../../../support/fixtures/protheus-tree';
import { sampleManifest } from '../../fixtures/manifest';
import { makeTestbed, type Testbed } from '../sources/sqlserver/testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
let bed: Testbed;
let connects: number;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
	connects = 0;
});
afterEach(() => bed.dispose());

const sqlServer = (): SqlServerRestoreServer => ({
	engine: 'sqlserver',
	connect: async () => {
		connects++;
		return bed.fake.runner('restore_n8n@sqlrestore01:1433/master');
	},
	sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
});

/** A server nothing listens on: any attempt to use it fails with UNREACHABLE, not with the refusal tested. */
const postgres: PostgresRestoreServer = {
	engine: 'postgres',
	connection: { host: '127.0.0.1', port: 1, database: 'postgres', user: 'nobody', password: 'x', sslMode: 'disable' },
	restore: { jobs: 1, owners: false, privileges: false },
	freshnessDays: 0,
};

const common = { keepOnFailure: false, log: silentLogger };

/** A PostgreSQL set's folder: its manifest is all the dispatch reads. */
async function postgresSet(): Promise<string> {
	const manifest = sampleManifest();
	const folder = join(bed.root, 'pg', manifest.environment, manifest.backupId);
	await mkdir(folder, { recursive: true });
	await writeFile(join(folder, 'manifest.json'), serializeManifest(manifest));
	return folder;
}

describe('Restore Test and Restore pick the engine by the manifest', () => {
	it('a SQL Server set on a SQL Server: its restore test runs, in a totvs_rt_ scratch database', async () => {
		const full = await bed.backup('full');
		const report = await restoreTestSet({ folder: full.folder, server: sqlServer(), ...common });
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report).toMatchObject({
			passed: true,
			database: `totvs_rt_${full.manifest.backupId}`,
			kept: false,
			backupId: full.manifest.backupId,
		});
		expect(bed.fake.statements).toContain(
			`DBCC CHECKDB ([totvs_rt_${full.manifest.backupId}]) WITH NO_INFOMSGS, ALL_ERRORMSGS`,
		);
		expect(bed.fake.droppedDatabases).toEqual([`totvs_rt_${full.manifest.backupId}`]);
	});

	it('a SQL Server set restored for real: into the target, through the staging copy', async () => {
		const full = await bed.backup('full');
		const report = await restoreSet({
			folder: full.folder,
			server: sqlServer(),
			target: 'PROTHEUS_RESTORED',
			replaceExisting: false,
			allowSourceDatabase: false,
			...common,
		});
		expect(report).toMatchObject({ passed: true, database: 'PROTHEUS_RESTORED', replaced: false, kept: false });
		expect(bed.fake.statements).toContain(
			`ALTER DATABASE [totvs_rs_${full.manifest.backupId}] MODIFY NAME = [PROTHEUS_RESTORED]`,
		);
		expect([...bed.fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
	});

	it('a SQL Server set on a PostgreSQL server is refused, naming the server to choose', async () => {
		const full = await bed.backup('full');
		for (const run of [
			() => restoreTestSet({ folder: full.folder, server: postgres, ...common }),
			() =>
				restoreSet({
					folder: full.folder,
					server: postgres,
					target: 'protheus_restored',
					replaceExisting: false,
					allowSourceDatabase: false,
					...common,
				}),
		])
			await expect(run()).rejects.toMatchObject({
				code: 'INVALID_INPUT',
				message: `Backup set ${full.manifest.backupId} is a SQL Server backup, but the restore server is PostgreSQL`,
				hint: expect.stringContaining('Set "Restore Server" to SQL Server'),
			});
	});

	it('a PostgreSQL set on a SQL Server is refused before the server is connected to', async () => {
		const folder = await postgresSet();
		await expect(restoreTestSet({ folder, server: sqlServer(), ...common })).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message:
				'Backup set prod-20261126T020000Z-full-db is a postgres database set, but the restore server is SQL Server',
			hint: 'Set "Restore Server" to PostgreSQL and choose a "TOTVS PostgreSQL" credential.',
		});
		expect(connects).toBe(0);
		expect(bed.fake.statements).toEqual([]);
	});

	it('a files set on a database restore server is refused with what to choose', async () => {
		const tree = await createProtheusTree(join(bed.root, 'totvs'), { smallFiles: 20, rpoBytes: 4096, tables: 1 });
		await mkdir(join(bed.root, 'files'));
		const files = await filesBackup(join(bed.root, 'files'), 'full', { appserverIni: tree.appserverIni });
		await expect(restoreTestSet({ folder: files.folder, server: postgres, ...common })).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: `Backup set ${files.manifest.backupId} is a protheus-files files set, but the restore server is PostgreSQL`,
			hint: 'A Protheus file set is restored into a folder, not on a database server: choose the files operation for it.',
		});
	});

	it("an unreadable manifest is left to the engine's verification: reported, nothing restored", async () => {
		const folder = join(bed.root, 'empty');
		await mkdir(folder);
		const report = await restoreTestSet({ folder, server: sqlServer(), ...common });
		expect(report.passed).toBe(false);
		expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
			['manifest', false],
			['restore', false],
		]);
		expect(connects).toBe(0);
	});

	it('fetchRemoteSet downloads what the server restores: a SQL Server set with its chain', async () => {
		const offsite = new LocalFolderDestination({ type: 'local', folder: join(bed.root, 'offsite') });
		await mkdir(join(bed.root, 'offsite'));
		const dumps = join(bed.root, 'dumps');
		await mkdir(dumps);
		const lock = { owner: { hostname: hostname(), pid: process.pid, executionId: 'test' }, options: { waitMs: 0 } };
		const full = await bed.backup('full', {}, dumps);
		const log = await bed.backup('log', {}, dumps);
		for (const set of [full, log]) await uploadSet(offsite, set.folder, { lock });

		const fetched = await fetchRemoteSet(offsite, sqlServer(), { environment: 'prod', logger: silentLogger });
		expect(fetched.chain).toEqual([full.manifest.backupId, log.manifest.backupId]);
		expect(fetched.shared).toEqual({ serverFolder: SERVER_FOLDER, localFolder: bed.share });
		expect(fetched.folder.startsWith(join(bed.share, '.restore-test-download-'))).toBe(true);
		await fetched.finish(false);

		// On a PostgreSQL server the newest database set must be PostgreSQL's: this one is refused.
		await expect(
			fetchRemoteSet(offsite, postgres, { environment: 'prod', logger: silentLogger }),
		).rejects.toMatchObject({
			code: 'SET_NOT_FOUND',
			message: expect.stringContaining('not a PostgreSQL database set'),
		});
	});
});
