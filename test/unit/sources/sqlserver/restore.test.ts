/**
 * SQL Server Restore (real recovery) against the scripted FakeSqlServer: the guards (target
 * exists, source database, leftovers), the restore into totvs_rs_<id> with DBCC and the TOTVS
 * checks, and the swap: an existing target renamed aside only after every check passed, the copy
 * renamed to the target, the old one dropped; on any failure the copy is dropped and the target
 * left as it was. Exact T-SQL, in order.
 */
import type { BackupResult } from '../../../../core/backup';
import { BackupError } from '../../../../core/errors';
import { silentLogger } from '../../../../core/logger';
import {
	runSqlServerSetRestore,
	runSqlServerSetRestoreTest,
	type SqlServerSetRestoreRequest,
} from '../../../../core/sources/sqlserver/restore/set-restore';
import { checkTargetName, isSourceDatabase } from '../../../../core/sources/sqlserver/restore/target';
import type { CheckResult } from '../../../../core/checks/check';
import { FakeSqlServer, sqlError } from './fake-sql-server';
import { makeTestbed, type Testbed } from './testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
let bed: Testbed;
let fake: FakeSqlServer;
beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
	fake = bed.fake;
});
afterEach(() => bed.dispose());

function restore(set: BackupResult, overrides: Partial<SqlServerSetRestoreRequest> = {}) {
	fake.statements.length = 0;
	fake.params.length = 0;
	return runSqlServerSetRestore({
		folder: set.folder,
		connect: async () => fake.runner('restore_n8n@sqlrestore01:1433/master'),
		sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
		target: 'PROTHEUS_RESTORED',
		replaceExisting: false,
		allowSourceDatabase: false,
		log: silentLogger,
		...overrides,
	});
}

const serverPathOf = (r: BackupResult) =>
	`${SERVER_FOLDER}\\prod\\${r.manifest.backupId}\\${r.manifest.artifacts[0].path}`;
const byName = (checks: CheckResult[], name: string) => checks.find((c) => c.name === name);
/** The statements that change or read the server's databases, without the inventory queries. */
const steps = () =>
	fake.statements
		.filter((s) => /^(RESTORE|DBCC|IF DB_ID|ALTER DATABASE|SELECT DB_ID|SELECT state_desc)/.test(s))
		.map(withoutToken);
/** Physical file names carry a random token per restore; the exact statements are compared without it. */
const withoutToken = (s: string) => s.replace(/_[0-9a-f]{8}_(\d+\.[mnl]df)/g, '_<token>_$1');

const STATE = 'SELECT state_desc AS state, user_access_desc AS userAccess FROM sys.databases WHERE name = @name';

describe('SQL Server Restore', () => {
	it('restores the chain into totvs_rs_<id>, checks it, then renames it to the new target', async () => {
		const full = await bed.backup('full');
		const log = await bed.backup('log');
		const staging = `totvs_rs_${log.manifest.backupId}`;
		const report = await restore(log);
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report).toMatchObject({
			passed: true,
			database: 'PROTHEUS_RESTORED',
			replaced: false,
			kept: false,
			backupId: log.manifest.backupId,
		});
		expect(steps()).toEqual([
			STATE, // target
			STATE, // staging
			'SELECT DB_ID(@name) AS id',
			`RESTORE HEADERONLY FROM DISK = N'${serverPathOf(full)}'`,
			`RESTORE FILELISTONLY FROM DISK = N'${serverPathOf(full)}'`,
			`RESTORE DATABASE [${staging}] FROM DISK = N'${serverPathOf(full)}' WITH FILE = 1, MOVE N'PROTHEUS_Data' TO N'D:\\MSSQL\\Data\\${staging}_<token>_1.mdf', MOVE N'PROTHEUS_Log' TO N'L:\\MSSQL\\Log\\${staging}_<token>_2.ldf', NORECOVERY, CHECKSUM, STATS = 10`,
			`RESTORE HEADERONLY FROM DISK = N'${serverPathOf(log)}'`,
			`RESTORE LOG [${staging}] FROM DISK = N'${serverPathOf(log)}' WITH FILE = 1, NORECOVERY, CHECKSUM, STATS = 10`,
			`RESTORE DATABASE [${staging}] WITH RECOVERY`,
			`DBCC CHECKDB ([${staging}]) WITH NO_INFOMSGS, ALL_ERRORMSGS`,
			`ALTER DATABASE [${staging}] MODIFY NAME = [PROTHEUS_RESTORED]`,
		]);
		// The TOTVS checks ran on the staging copy, before it took the name.
		const renameAt = fake.statements.indexOf(`ALTER DATABASE [${staging}] MODIFY NAME = [PROTHEUS_RESTORED]`);
		expect(fake.statements.findIndex((s) => s.includes(`FROM [${staging}].sys.procedures p`))).toBeLessThan(renameAt);
		expect([...fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
		expect(fake.droppedDatabases).toEqual([]);
		expect(report.checks.map((c) => c.name)).toEqual([
			'manifest',
			'artifacts',
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
		]);
	});

	it('Replace: the old target is renamed aside only after every check, the copy takes its name, then the old one is dropped', async () => {
		const full = await bed.backup('full');
		const staging = `totvs_rs_${full.manifest.backupId}`;
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		const report = await restore(full, { replaceExisting: true });
		expect(report).toMatchObject({ passed: true, database: 'PROTHEUS_RESTORED', replaced: true, kept: false });
		expect(steps().slice(0, 4)).toEqual([STATE, STATE, STATE, 'SELECT DB_ID(@name) AS id']);
		expect(fake.params.filter((_, i) => fake.statements[i] === STATE).map((p) => p.name)).toEqual([
			'PROTHEUS_RESTORED',
			'totvs_old_PROTHEUS_RESTORED',
			staging,
		]);
		const dbccAt = fake.statements.findIndex((s) => s.startsWith('DBCC CHECKDB'));
		const swap = fake.statements.slice(fake.statements.findIndex((s) => s.startsWith('ALTER DATABASE')));
		expect(fake.statements.findIndex((s) => s.startsWith('ALTER DATABASE'))).toBeGreaterThan(dbccAt);
		expect(swap).toEqual([
			'ALTER DATABASE [PROTHEUS_RESTORED] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ALTER DATABASE [PROTHEUS_RESTORED] MODIFY NAME = [totvs_old_PROTHEUS_RESTORED];',
			'ALTER DATABASE [totvs_old_PROTHEUS_RESTORED] SET MULTI_USER',
			`ALTER DATABASE [${staging}] MODIFY NAME = [PROTHEUS_RESTORED]`,
			"IF DB_ID(N'totvs_old_PROTHEUS_RESTORED') IS NOT NULL BEGIN IF DATABASEPROPERTYEX(N'totvs_old_PROTHEUS_RESTORED', 'Status') = N'ONLINE' ALTER DATABASE [totvs_old_PROTHEUS_RESTORED] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [totvs_old_PROTHEUS_RESTORED]; END",
		]);
		expect(fake.renames).toEqual([
			{ from: 'PROTHEUS_RESTORED', to: 'totvs_old_PROTHEUS_RESTORED' },
			{ from: staging, to: 'PROTHEUS_RESTORED' },
		]);
		expect([...fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
		expect(fake.droppedDatabases).toEqual(['totvs_old_PROTHEUS_RESTORED']);
		expect(byName(report.checks, 'cleanup')).toMatchObject({ ok: true, actual: 'dropped' });
	});

	it('a RESTRICTED_USER target keeps that access mode while it is aside', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('P12');
		fake.databaseStates.set('P12', { state: 'ONLINE', userAccess: 'RESTRICTED_USER' });
		fake.failOn(
			/^ALTER DATABASE \[totvs_rs_.*MODIFY NAME = \[P12\]$/,
			sqlError(5030, 'The database could not be exclusively locked to perform the operation.'),
		);
		const error = (await restore(full, { target: 'P12', replaceExisting: true }).catch(
			(e: unknown) => e,
		)) as BackupError;
		expect(error.code).toBe('RESTORE_FAILED');
		expect(fake.statements).toContain('ALTER DATABASE [totvs_old_P12] SET RESTRICTED_USER');
		// Put back under its own name, with its own access mode; the copy is gone.
		expect(fake.renames.map((r) => `${r.from}->${r.to}`)).toEqual(['P12->totvs_old_P12', 'totvs_old_P12->P12']);
		expect(fake.databaseStates.get('P12')).toEqual({ state: 'ONLINE', userAccess: 'RESTRICTED_USER' });
		expect([...fake.existingDatabases]).toEqual(['P12']);
		expect(fake.droppedDatabases).toEqual([`totvs_rs_${full.manifest.backupId}`]);
		expect(error.message).toMatch(
			/passed every check but could not be renamed from "totvs_rs_.*" to "P12" on .*: Msg 5030: The database could not be exclusively locked/,
		);
		expect(error.hint).toMatch(/^"P12" has its old name and data back; the restored copy was dropped/);
	});

	it('refuses an existing target without Replace, before anything is restored', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		const error = (await restore(full).catch((e: unknown) => e)) as BackupError;
		expect(error).toBeInstanceOf(BackupError);
		expect(error.code).toBe('TARGET_EXISTS');
		expect(error.message).toBe('Database "PROTHEUS_RESTORED" already exists on restore_n8n@sqlrestore01:1433/master');
		expect(error.hint).toMatch(/turn on "Replace Existing Database"/);
		expect(fake.statements.some((s) => /^(RESTORE|ALTER|IF DB_ID|DBCC)/.test(s))).toBe(false);
		expect([...fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
	});

	it('refuses the source database unless both Replace and Allow Replacing the Source Database are on', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('PROTHEUS');
		for (const options of [{}, { replaceExisting: true }, { allowSourceDatabase: true }]) {
			const error = (await restore(full, { target: 'protheus', ...options }).catch((e: unknown) => e)) as BackupError;
			expect(error.code).toBe('TARGET_IS_SOURCE');
			expect(error.message).toMatch(/^"protheus" on .* is the database backup set .* was taken from$/);
		}
		expect(fake.statements.some((s) => /^(RESTORE|ALTER|IF DB_ID)/.test(s))).toBe(false);
		const report = await restore(full, { target: 'PROTHEUS', replaceExisting: true, allowSourceDatabase: true });
		expect(report).toMatchObject({ passed: true, database: 'PROTHEUS', replaced: true });
		expect(fake.droppedDatabases).toEqual(['totvs_old_PROTHEUS']);
	});

	it("recognises the source server by @@SERVERNAME or by the credential's server, instance and port", () => {
		const source = {
			database: 'PROTHEUS',
			serverName: 'SQLPROD01',
			host: 'sqlprod01',
			port: 1433,
			instance: null,
		} as never;
		expect(isSourceDatabase(source, { serverName: 'sqlprod01' }, undefined, 'Protheus')).toBe(true);
		expect(
			isSourceDatabase(
				source,
				{ serverName: 'SQLDR01' },
				{ server: 'SQLPROD01', port: 1433, instance: null },
				'PROTHEUS',
			),
		).toBe(true);
		expect(
			isSourceDatabase(
				source,
				{ serverName: 'SQLDR01' },
				{ server: 'sqlprod01', port: null, instance: 'DR' },
				'PROTHEUS',
			),
		).toBe(false);
		expect(isSourceDatabase(source, { serverName: 'SQLPROD01' }, undefined, 'PROTHEUS_RESTORED')).toBe(false);
	});

	it('a RESTORE failing mid-chain drops the staging copy and leaves the existing target untouched', async () => {
		const full = await bed.backup('full');
		await bed.backup('log');
		const log2 = await bed.backup('log');
		const staging = `totvs_rs_${log2.manifest.backupId}`;
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		fake.failOn(
			/^RESTORE LOG .* FROM DISK = N'.*\\PROTHEUS_LOG\.trn'/,
			sqlError(
				4305,
				'The log in this backup set begins at LSN 41000000016000000, which is too recent to apply to the database.',
			),
		);
		const report = await restore(log2, { replaceExisting: true });
		expect(report).toMatchObject({ passed: false, database: null, replaced: false, kept: false });
		expect(byName(report.checks, 'restore')).toMatchObject({ ok: false, actual: 'Msg 4305' });
		expect(byName(report.checks, 'cleanup')).toMatchObject({ ok: true, actual: 'dropped' });
		expect(fake.statements.some((s) => s.startsWith('ALTER DATABASE') || s.startsWith('DBCC'))).toBe(false);
		expect(fake.statements.at(-1)).toMatch(new RegExp(`^IF DB_ID\\(N'${staging}'\\)`));
		expect(fake.droppedDatabases).toEqual([staging]);
		expect([...fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
		expect(full.manifest.type).toBe('full');
	});

	it('a DBCC CHECKDB error keeps the target as it was; "Keep Database on Failure" keeps the staging copy', async () => {
		const full = await bed.backup('full');
		const staging = `totvs_rs_${full.manifest.backupId}`;
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		fake.failOn(
			/^DBCC CHECKDB/,
			sqlError(
				8939,
				'Table error: Object ID 901578250, index ID 1, page (1:312). Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed.',
			),
		);
		const report = await restore(full, { replaceExisting: true, keepOnFailure: true });
		expect(report).toMatchObject({ passed: false, database: staging, kept: true, replaced: false });
		expect(byName(report.checks, 'dbcc')).toMatchObject({ ok: false });
		expect(byName(report.checks, 'cleanup')).toBeUndefined();
		expect(fake.statements.some((s) => s.startsWith('ALTER DATABASE') || s.startsWith('IF DB_ID'))).toBe(false);
		expect([...fake.existingDatabases].sort()).toEqual(['PROTHEUS_RESTORED', staging]);
	});

	it('a lost connection during the checks drops the staging copy (also with Keep on Failure) and propagates', async () => {
		const full = await bed.backup('full');
		fake.crashOn(/^DBCC CHECKDB/, new Error('Connection lost - socket hang up'));
		await expect(restore(full, { keepOnFailure: true })).rejects.toThrow('socket hang up');
		expect(fake.droppedDatabases).toEqual([`totvs_rs_${full.manifest.backupId}`]);
		expect(fake.existingDatabases.size).toBe(0);
	});

	it('when the old target cannot be renamed aside, it gets its access back and the copy is dropped', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		fake.failOn(
			/SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ALTER DATABASE \[PROTHEUS_RESTORED\] MODIFY NAME/,
			sqlError(5030, 'The database could not be exclusively locked to perform the operation.'),
		);
		const error = (await restore(full, { replaceExisting: true }).catch((e: unknown) => e)) as BackupError;
		expect(error.code).toBe('RESTORE_FAILED');
		expect(error.message).toMatch(/^Cannot rename database "PROTHEUS_RESTORED" aside on .* to replace it: Msg 5030/);
		expect(error.hint).toMatch(
			/^"PROTHEUS_RESTORED" keeps its name and data .*the restored copy "totvs_rs_.*" was dropped/,
		);
		const after = fake.statements.slice(fake.statements.findIndex((s) => s.startsWith('ALTER DATABASE')));
		expect(after).toEqual([
			'ALTER DATABASE [PROTHEUS_RESTORED] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ALTER DATABASE [PROTHEUS_RESTORED] MODIFY NAME = [totvs_old_PROTHEUS_RESTORED];',
			'ALTER DATABASE [PROTHEUS_RESTORED] SET MULTI_USER',
			expect.stringMatching(/^IF DB_ID\(N'totvs_rs_/),
		]);
		expect([...fake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
		expect(fake.renames).toEqual([]);
	});

	it('a replaced database that cannot be dropped is reported: the target holds the restored copy', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		fake.failOn(
			/^IF DB_ID\(N'totvs_old_/,
			sqlError(3702, 'Cannot drop database "totvs_old_PROTHEUS_RESTORED" because it is currently in use.'),
		);
		const report = await restore(full, { replaceExisting: true });
		expect(report).toMatchObject({ passed: false, database: 'PROTHEUS_RESTORED', replaced: true });
		expect(byName(report.checks, 'cleanup')).toMatchObject({ ok: false, actual: 'still there' });
		expect(byName(report.checks, 'cleanup')!.message).toMatch(
			/^"PROTHEUS_RESTORED" now holds the restored copy, but the database it replaced is still there as "totvs_old_PROTHEUS_RESTORED"/,
		);
		expect([...fake.existingDatabases].sort()).toEqual(['PROTHEUS_RESTORED', 'totvs_old_PROTHEUS_RESTORED']);
	});

	it('refuses a target that is not ONLINE, a leftover totvs_old_ database and a leftover staging copy', async () => {
		const full = await bed.backup('full');
		fake.existingDatabases.add('PROTHEUS_RESTORED');
		fake.databaseStates.set('PROTHEUS_RESTORED', { state: 'RESTORING', userAccess: 'MULTI_USER' });
		await expect(restore(full, { replaceExisting: true })).rejects.toMatchObject({
			code: 'TARGET_EXISTS',
			message: expect.stringMatching(/is RESTORING, so it cannot be renamed aside/),
		});
		fake.databaseStates.delete('PROTHEUS_RESTORED');
		fake.existingDatabases.add('totvs_old_PROTHEUS_RESTORED');
		await expect(restore(full, { replaceExisting: true })).rejects.toMatchObject({
			code: 'TARGET_EXISTS',
			message: expect.stringMatching(/^Database "totvs_old_PROTHEUS_RESTORED" already exists/),
		});
		fake.existingDatabases.clear();
		fake.existingDatabases.add(`totvs_rs_${full.manifest.backupId}`);
		await expect(restore(full)).rejects.toMatchObject({
			code: 'TARGET_EXISTS',
			message: expect.stringMatching(/^Staging database "totvs_rs_/),
		});
		expect(fake.statements.some((s) => /^(RESTORE|ALTER|IF DB_ID)/.test(s))).toBe(false);
		expect(fake.droppedDatabases).toEqual([]);
	});

	it('quotes a hostile target name in every statement', async () => {
		const full = await bed.backup('full');
		const hostile = "P]; DROP DATABASE master; --'x";
		fake.existingDatabases.add(hostile);
		const report = await restore(full, { target: hostile, replaceExisting: true });
		expect(report.passed).toBe(true);
		expect(fake.statements).toContain(
			"ALTER DATABASE [P]]; DROP DATABASE master; --'x] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; ALTER DATABASE [P]]; DROP DATABASE master; --'x] MODIFY NAME = [totvs_old_P]]; DROP DATABASE master; --'x];",
		);
		expect(fake.statements).toContain(
			`ALTER DATABASE [totvs_rs_${full.manifest.backupId}] MODIFY NAME = [P]]; DROP DATABASE master; --'x]`,
		);
		expect(fake.statements.at(-1)).toContain("DROP DATABASE [totvs_old_P]]; DROP DATABASE master; --'x]; END");
		expect(fake.statements.at(-1)).toMatch(/^IF DB_ID\(N'totvs_old_P\]; DROP DATABASE master; --''x'\)/);
		expect([...fake.existingDatabases]).toEqual([hostile]);
		expect(() => checkTargetName('  ')).toThrow(BackupError);
		expect(() => checkTargetName('x'.repeat(129))).toThrow(/cannot be used as a SQL Server database name/);
		expect(() => checkTargetName(' MSDB ')).toThrow('"MSDB" is a SQL Server system database');
		expect(checkTargetName(' P12_restored ')).toBe('P12_restored');
	});

	it('a set that fails verification is not restored and nothing is touched', async () => {
		const full = await bed.backup('full');
		const { appendFile } = await import('node:fs/promises');
		await appendFile(`${full.folder}/${full.manifest.artifacts[0].path}`, 'x');
		const report = await restore(full);
		expect(report).toMatchObject({ passed: false, database: null, replaced: false });
		expect(byName(report.checks, 'restore')).toMatchObject({ ok: false, actual: 'not attempted' });
		expect(fake.statements.some((s) => /^(RESTORE|ALTER|IF DB_ID)/.test(s))).toBe(false);
	});
});

describe('SQL Server Restore Test: Keep Database on Failure', () => {
	it('keeps the scratch database after a failed check and says so; drops it after a pass', async () => {
		const full = await bed.backup('full');
		const request = {
			folder: full.folder,
			connect: async () => fake.runner(),
			sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
			keepOnFailure: true,
			log: silentLogger,
		};
		const passed = await runSqlServerSetRestoreTest(request);
		expect(passed).toMatchObject({ passed: true, kept: false });
		expect(fake.droppedDatabases).toEqual([`totvs_rt_${full.manifest.backupId}`]);
		fake.restored = { collation: 'SQL_Latin1_General_CP1_CI_AS' };
		const failed = await runSqlServerSetRestoreTest(request);
		expect(failed).toMatchObject({ passed: false, kept: true, database: `totvs_rt_${full.manifest.backupId}` });
		expect(byName(failed.checks, 'cleanup')).toBeUndefined();
		expect(fake.existingDatabases.has(`totvs_rt_${full.manifest.backupId}`)).toBe(true);
	});
});

describe('SQL Server Restore: cancellation', () => {
	it('a cancelled execution stops the restore with CANCELLED and drops the staging copy', async () => {
		const full = await bed.backup('full');
		const controller = new AbortController();
		// As the driver does when n8n cancels: the running statement fails with its own error.
		fake.crashOn(
			/^RESTORE DATABASE \[totvs_rs_.*\] WITH RECOVERY$/,
			Object.assign(new Error('Canceled.'), { code: 'ECANCEL' }),
		);
		const running = restore(full, { signal: controller.signal, replaceExisting: true });
		controller.abort();
		const error = (await running.catch((e: unknown) => e)) as BackupError;
		expect(error.code).toBe('CANCELLED');
		expect(fake.droppedDatabases).toEqual([`totvs_rs_${full.manifest.backupId}`]);
		expect(fake.statements.some((s) => s.startsWith('ALTER DATABASE'))).toBe(false);
	});
});
