/**
 * The SQL Server Restore Test sequence against the scripted FakeSqlServer: exact statements
 * in order, DBCC errors and failed RESTOREs reported as checks, and the scratch database
 * dropped in every case it was created (and never when it already existed).
 */
import type { BackupResult } from '../../../../core/backup';
import { BackupError } from '../../../../core/errors';
import { silentLogger } from '../../../../core/logger';
import type { CheckResult } from '../../../../core/checks/check';
import {
	movesFor,
	runSqlServerRestoreTest,
	type SqlServerRestoreTestRequest,
} from '../../../../core/sources/sqlserver/restore/chain-restore';
import { planSqlServerRestore } from '../../../../core/sources/sqlserver/restore/plan';
import { FakeSqlServer, sqlError } from './fake-sql-server';
import { makeTestbed, type Testbed } from './testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
let bed: Testbed;
let share: string;
let fake: FakeSqlServer;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
	({ share, fake } = bed);
});
afterEach(() => bed.dispose());
const backup = (type: 'full' | 'differential' | 'log') => bed.backup(type);

async function restoreTest(target: BackupResult, overrides: Partial<SqlServerRestoreTestRequest> = {}) {
	const chain = await planSqlServerRestore(target.folder, target.manifest);
	fake.statements.length = 0;
	return runSqlServerRestoreTest({
		chain,
		runner: fake.runner(),
		shared: { serverFolder: SERVER_FOLDER, localFolder: share },
		rowTolerance: 0.01,
		statsPercent: 10,
		log: silentLogger,
		...overrides,
	});
}

const serverPathOf = (r: BackupResult) =>
	`${SERVER_FOLDER}\\prod\\${r.manifest.backupId}\\${r.manifest.artifacts[0].path}`;
const byName = (checks: CheckResult[], name: string) => checks.find((c) => c.name === name);

describe('SQL Server restore test', () => {
	it('restores full → differential → log WITH MOVE and NORECOVERY, recovers, checks, drops', async () => {
		const full = await backup('full');
		await backup('log');
		const diff = await backup('differential');
		const log = await backup('log');
		const result = await restoreTest(log);
		const scratch = `totvs_rt_${log.manifest.backupId}`;
		expect(result.database).toBe(scratch);
		expect(result.checks.filter((c) => !c.ok)).toEqual([]);
		expect(result.passed).toBe(true);
		// Physical file names carry a random token per restore; compared here without it.
		const restoreSteps = fake.statements
			.filter((s) => /^(RESTORE|DBCC|IF DB_ID)/.test(s))
			.map((s) => s.replace(/_[0-9a-f]{8}_(\d+\.[mnl]df)/g, '_<token>_$1'));
		expect(restoreSteps).toEqual([
			`RESTORE HEADERONLY FROM DISK = N'${serverPathOf(full)}'`,
			`RESTORE FILELISTONLY FROM DISK = N'${serverPathOf(full)}'`,
			`RESTORE DATABASE [${scratch}] FROM DISK = N'${serverPathOf(full)}' WITH FILE = 1, MOVE N'PROTHEUS_Data' TO N'D:\\MSSQL\\Data\\${scratch}_<token>_1.mdf', MOVE N'PROTHEUS_Log' TO N'L:\\MSSQL\\Log\\${scratch}_<token>_2.ldf', NORECOVERY, CHECKSUM, STATS = 10`,
			`RESTORE HEADERONLY FROM DISK = N'${serverPathOf(diff)}'`,
			`RESTORE DATABASE [${scratch}] FROM DISK = N'${serverPathOf(diff)}' WITH FILE = 1, NORECOVERY, CHECKSUM, STATS = 10`,
			`RESTORE HEADERONLY FROM DISK = N'${serverPathOf(log)}'`,
			`RESTORE LOG [${scratch}] FROM DISK = N'${serverPathOf(log)}' WITH FILE = 1, NORECOVERY, CHECKSUM, STATS = 10`,
			`RESTORE DATABASE [${scratch}] WITH RECOVERY`,
			`DBCC CHECKDB ([${scratch}]) WITH NO_INFOMSGS, ALL_ERRORMSGS`,
			`IF DB_ID(N'${scratch}') IS NOT NULL BEGIN IF DATABASEPROPERTYEX(N'${scratch}', 'Status') = N'ONLINE' ALTER DATABASE [${scratch}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${scratch}]; END`,
		]);
		expect(result.checks.map((c) => c.name)).toEqual([
			'chain',
			'restore',
			'dbcc',
			'collation',
			'tables',
			'top-tables',
			'sys-tables',
			'row-counts',
			'max-recno',
			'protheus-columns',
			'procedures',
			'unq-indexes',
			'triggers',
			'cleanup',
		]);
		expect(fake.droppedDatabases).toEqual([scratch]);
		expect(fake.existingDatabases.size).toBe(0);
	});

	it('DBCC CHECKDB errors fail the test with the messages, and the scratch database is still dropped', async () => {
		const full = await backup('full');
		const corruption = [
			{
				number: 8928,
				severity: 16,
				message:
					'Object ID 901578250, index ID 1, partition ID 72057594045071360: Page (1:312) could not be processed.',
			},
			{
				number: 8939,
				severity: 16,
				message:
					'Table error: Object ID 901578250, index ID 1, page (1:312). Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed.',
			},
			{
				number: 8990,
				severity: 10,
				message: "CHECKDB found 0 allocation errors and 2 consistency errors in table 'SA1010' (object ID 901578250).",
			},
		];
		const error = sqlError(8939, corruption[1].message);
		Object.assign(error, { errors: corruption });
		fake.failOn(/^DBCC CHECKDB/, error);
		const result = await restoreTest(full);
		expect(result.passed).toBe(false);
		const dbcc = byName(result.checks, 'dbcc')!;
		expect(dbcc).toMatchObject({ ok: false, actual: '3 error(s)' });
		expect(dbcc.message).toMatch(
			/^DBCC CHECKDB reported: Msg 8928: .*Msg 8939: .*Msg 8990: CHECKDB found 0 allocation errors and 2 consistency errors/,
		);
		expect(byName(result.checks, 'cleanup')).toMatchObject({ ok: true });
		expect(fake.droppedDatabases).toEqual([`totvs_rt_${full.manifest.backupId}`]);
	});

	it('DBCC messages reporting errors without raising them still fail the check', async () => {
		const full = await backup('full');
		fake.messagesOn(/^DBCC CHECKDB/, [
			{
				number: 8989,
				severity: 10,
				message: 'CHECKDB found 1 allocation errors and 0 consistency errors in database.',
			},
		]);
		const result = await restoreTest(full);
		expect(byName(result.checks, 'dbcc')).toMatchObject({ ok: false });
	});

	it('a failed RESTORE is a failed check, nothing more runs on the database, and it is dropped', async () => {
		const full = await backup('full');
		const log = await backup('log');
		fake.failOn(
			/^RESTORE LOG/,
			sqlError(3183, 'RESTORE detected an error on page (1:4120) in database "x" as read from the backup set.'),
		);
		const result = await restoreTest(log);
		expect(result.passed).toBe(false);
		expect(byName(result.checks, 'restore')).toMatchObject({ ok: false, actual: 'Msg 3183' });
		expect(byName(result.checks, 'restore')!.message).toMatch(
			new RegExp(`RESTORE of ${log.manifest.backupId} .* failed: Msg 3183: RESTORE detected an error on page`),
		);
		expect(fake.statements.some((s) => s.startsWith('DBCC'))).toBe(false);
		expect(fake.statements.some((s) => s.endsWith('WITH RECOVERY'))).toBe(false);
		expect(fake.statements[fake.statements.length - 1]).toMatch(/^IF DB_ID\(N'totvs_rt_/);
		expect(fake.droppedDatabases).toHaveLength(1);
		expect(full.manifest.backupId).not.toBe(log.manifest.backupId);
	});

	it('a lost connection mid-test propagates, after the scratch database was dropped', async () => {
		const full = await backup('full');
		fake.crashOn(/^DBCC CHECKDB/, new Error('Connection lost - socket hang up'));
		await expect(restoreTest(full)).rejects.toThrow('socket hang up');
		expect(fake.droppedDatabases).toEqual([`totvs_rt_${full.manifest.backupId}`]);
	});

	it('a failed DROP is reported with the name to drop by hand', async () => {
		const full = await backup('full');
		fake.failOn(/^IF DB_ID/, sqlError(3702, 'Cannot drop database "x" because it is currently in use.'));
		const result = await restoreTest(full);
		expect(result.passed).toBe(false);
		expect(byName(result.checks, 'cleanup')).toMatchObject({ ok: false, actual: 'still there' });
		expect(byName(result.checks, 'cleanup')!.message).toMatch(
			/DROP DATABASE totvs_rt_.* failed \(Msg 3702: Cannot drop database/,
		);
	});

	it('a RESTORE that fails because another run created the scratch database meanwhile does not drop theirs', async () => {
		const full = await backup('full');
		const scratch = `totvs_rt_${full.manifest.backupId}`;
		// Between our DB_ID check and our RESTORE, a concurrent run restores into that name.
		fake.beforeNext(/^RESTORE DATABASE /, () => {
			fake.existingDatabases.add(scratch);
			fake.masterFiles.set(scratch, [`D:\\MSSQL\\Data\\${scratch}_0badcafe_1.mdf`]);
		});
		fake.failOn(
			/^RESTORE DATABASE /,
			sqlError(1801, `Database '${scratch}' already exists. Choose a different database name.`),
		);
		const result = await restoreTest(full);
		expect(result.passed).toBe(false);
		expect(byName(result.checks, 'restore')).toMatchObject({ ok: false, actual: 'Msg 1801' });
		expect(fake.droppedDatabases).toEqual([]);
		expect(fake.existingDatabases.has(scratch)).toBe(true);
	});

	it('a first RESTORE of ours that fails part way (its files are ours) is still dropped', async () => {
		const full = await backup('full');
		const scratch = `totvs_rt_${full.manifest.backupId}`;
		fake.beforeNext(/^RESTORE DATABASE /, (sql) => {
			fake.existingDatabases.add(scratch);
			fake.masterFiles.set(scratch, FakeSqlServer.movedFiles(sql));
		});
		fake.failOn(/^RESTORE DATABASE /, sqlError(3257, 'There is insufficient free space on disk volume.'));
		const result = await restoreTest(full);
		expect(byName(result.checks, 'restore')).toMatchObject({ ok: false, actual: 'Msg 3257' });
		expect(fake.droppedDatabases).toEqual([scratch]);
	});

	it('two restores of the same set use different physical file names', async () => {
		const full = await backup('full');
		await restoreTest(full);
		const first = fake.statements.find((s) => s.startsWith('RESTORE DATABASE'))!;
		await restoreTest(full);
		const second = fake.statements.find((s) => s.startsWith('RESTORE DATABASE'))!;
		const a = FakeSqlServer.movedFiles(first);
		const b = FakeSqlServer.movedFiles(second);
		expect(a).toHaveLength(2);
		expect(a.filter((path) => b.includes(path))).toEqual([]);
	});

	it('never touches a scratch database that already exists', async () => {
		const full = await backup('full');
		const scratch = `totvs_rt_${full.manifest.backupId}`;
		fake.existingDatabases.add(scratch);
		const error = (await restoreTest(full).catch((e: unknown) => e)) as BackupError;
		expect(error).toBeInstanceOf(BackupError);
		expect(error.code).toBe('TARGET_EXISTS');
		expect(fake.statements.some((s) => /^(RESTORE DATABASE|IF DB_ID)/.test(s))).toBe(false);
		expect(fake.existingDatabases.has(scratch)).toBe(true);
	});

	it('a file that is not the recorded backup is not restored', async () => {
		const full = await backup('full');
		await fake.rewriteHeader(serverPathOf(full), { ...fake.history[0], last: fake.history[0].last + 5_000_000_000n });
		const result = await restoreTest(full);
		expect(byName(result.checks, 'backup-header')).toMatchObject({ ok: false });
		expect(byName(result.checks, 'backup-header')!.actual).toMatch(/^LastLSN \d+, recorded \d+$/);
		expect(fake.statements.some((s) => s.startsWith('RESTORE DATABASE'))).toBe(false);
		expect(fake.droppedDatabases).toEqual([]);
	});

	it('a broken chain is reported and nothing is restored', async () => {
		const full = await backup('full');
		const log1 = await backup('log');
		const log2 = await backup('log');
		const chain = [
			{ folder: full.folder, manifest: full.manifest },
			{ folder: log2.folder, manifest: log2.manifest },
		];
		const result = await runSqlServerRestoreTest({
			chain,
			runner: fake.runner(),
			shared: { serverFolder: SERVER_FOLDER, localFolder: share },
			rowTolerance: 0,
			statsPercent: 10,
			log: silentLogger,
		});
		expect(result.passed).toBe(false);
		expect(result.checks).toHaveLength(1);
		expect(result.checks[0]).toMatchObject({ name: 'chain', ok: false });
		expect(result.checks[0].message).toMatch(/gap/);
		expect(log1.manifest.backupId).toBeTruthy();
		expect(fake.droppedDatabases).toEqual([]);
	});

	it('compares collation, tables, rows and R_E_C_N_O_ with the manifest', async () => {
		const full = await backup('full');
		fake.restored = {
			collation: 'SQL_Latin1_General_CP1_CI_AS',
			tables: [
				{ schema: 'dbo', name: 'SA1010', rows: 1519, maxRecno: 1544 }, // within 1%
				{ schema: 'dbo', name: 'SE1010', rows: 70000, maxRecno: 70100 }, // not
				{ schema: 'dbo', name: 'TOP_FIELD', rows: 310, maxRecno: null },
			],
		};
		fake.procedures = ['dbo.MAT001_01'];
		const result = await restoreTest(full);
		expect(byName(result.checks, 'collation')).toMatchObject({
			ok: false,
			expected: 'Latin1_General_BIN',
			actual: 'SQL_Latin1_General_CP1_CI_AS',
		});
		expect(byName(result.checks, 'procedures')).toMatchObject({
			ok: false,
			message: 'Missing after restore: dbo.FIN002_01',
		});
		expect(byName(result.checks, 'sys-tables')).toMatchObject({
			ok: false,
			message: 'Missing after restore: dbo.SYS_COMPANY',
		});
		expect(byName(result.checks, 'tables')).toMatchObject({ ok: true });
		expect(byName(result.checks, 'row-counts')).toMatchObject({
			ok: false,
			actual: '1 differ',
			message: 'dbo.SE1010 70000 rows, expected 80211',
		});
		expect(byName(result.checks, 'row-counts')!.expected).toMatch(/tolerance 1\.00%/);
		expect(byName(result.checks, 'max-recno')).toMatchObject({
			ok: false,
			message: 'dbo.SE1010 max R_E_C_N_O_ 70100, expected 80400',
		});
		expect(byName(result.checks, 'cleanup')).toMatchObject({ ok: true });
	});

	it('moves every file of the full to the default folders under the scratch name', () => {
		expect(
			movesFor(
				"rt_a]b'",
				[
					{ LogicalName: 'P_Data', Type: 'D', FileID: 1 },
					{ LogicalName: 'P_Data2', Type: 'D', FileID: 3 },
					{ LogicalName: 'P_Log', Type: 'L', FileID: 2 },
				],
				'/var/opt/mssql/data/',
				'/var/opt/mssql/log',
				'feedf00d',
			),
		).toEqual([
			{ logicalName: 'P_Data', serverPath: '/var/opt/mssql/data/rt_a_b__feedf00d_1.mdf' },
			{ logicalName: 'P_Data2', serverPath: '/var/opt/mssql/data/rt_a_b__feedf00d_3.ndf' },
			{ logicalName: 'P_Log', serverPath: '/var/opt/mssql/log/rt_a_b__feedf00d_2.ldf' },
		]);
	});
});
