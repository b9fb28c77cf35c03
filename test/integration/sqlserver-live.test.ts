/**
 * The SQL Server engine against a REAL SQL Server, when one is given through the environment.
 * None can run on the machine this package is developed on, so by default this suite reports
 * itself skipped; the unit suites in test/unit/sources/sqlserver run the same orchestration against a
 * scripted fake. See docs/sqlserver.md ("Running the live suite").
 *
 *   TOTVS_TEST_MSSQL_HOST, TOTVS_TEST_MSSQL_PORT (1433), TOTVS_TEST_MSSQL_USER, TOTVS_TEST_MSSQL_PASSWORD
 *   TOTVS_TEST_MSSQL_SHARED_DIR   the backup folder as this machine sees it (must be writable by SQL Server too)
 *   TOTVS_TEST_MSSQL_SERVER_DIR   the same folder as SQL Server sees it (defaults to SHARED_DIR)
 *   TOTVS_TEST_MSSQL_ENCRYPT (true), TOTVS_TEST_MSSQL_TRUST_CERT (false)
 *
 * The login needs sysadmin (it creates and drops a test database, scratch databases, and the
 * database the Restore case restores into).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeBackup, type BackupResult } from '../../core/backup';
import { manifestOf } from '../../core/backup-set/manifest';
import { BackupError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { SqlServerConnection } from '../../core/sources/sqlserver/connection';
import { describeServerForCredential } from '../../core/sources/sqlserver/connection-test';
import { connectSqlServer } from '../../core/sources/sqlserver/mssql-runner';
import { runSqlServerRestoreTest } from '../../core/sources/sqlserver/restore/chain-restore';
import { planSqlServerRestore } from '../../core/sources/sqlserver/restore/plan';
import { LocalFolderDestination } from '../../core/destinations';
import { fetchRemoteSqlServerChain } from '../../core/restore-test/remote/sqlserver';
import { runSqlServerSetRestore, runSqlServerSetRestoreTest } from '../../core/sources/sqlserver/restore/set-restore';
import { uploadSet } from '../../core/upload/set-transfer';
import { rowsOf, type SqlRunner } from '../../core/sources/sqlserver/runner';
import { defaultSqlServerDumpOptions, SqlServerSource } from '../../core/sources/sqlserver/sqlserver-source';
import { quoteName } from '../../core/sources/sqlserver/tsql';
import { verifyLocalSet } from '../../core/verify/verify-set';

const env = process.env;
const missing = [
	'TOTVS_TEST_MSSQL_HOST',
	'TOTVS_TEST_MSSQL_USER',
	'TOTVS_TEST_MSSQL_PASSWORD',
	'TOTVS_TEST_MSSQL_SHARED_DIR',
].filter((name) => !env[name]);
const SKIP_REASON = 'skipped: no SQL Server (set TOTVS_TEST_MSSQL_*)';

if (missing.length) {
	console.warn(`SQL Server live suite ${SKIP_REASON}; missing ${missing.join(', ')}`);
	describe('SQL Server engine against a real server', () => {
		it.skip(`${SKIP_REASON}; missing ${missing.join(', ')}`, () => undefined);
	});
} else {
	const database = `totvs_live_${randomBytes(4).toString('hex')}`;
	const connection: SqlServerConnection = {
		server: env.TOTVS_TEST_MSSQL_HOST!,
		port: Number(env.TOTVS_TEST_MSSQL_PORT || 1433),
		database,
		authentication: 'sql',
		user: env.TOTVS_TEST_MSSQL_USER!,
		password: env.TOTVS_TEST_MSSQL_PASSWORD!,
		encrypt: env.TOTVS_TEST_MSSQL_ENCRYPT !== 'false',
		trustServerCertificate: env.TOTVS_TEST_MSSQL_TRUST_CERT === 'true',
		connectTimeoutMs: 15000,
		requestTimeoutMs: 60000,
	};
	const sharedDir = env.TOTVS_TEST_MSSQL_SHARED_DIR!;
	const serverDir = env.TOTVS_TEST_MSSQL_SERVER_DIR || sharedDir;
	const staging = join(sharedDir, database);
	const shared = { serverFolder: serverDir, localFolder: sharedDir };
	const restored = `${database}_restored`;
	let master: SqlRunner;
	/** The chain made by the backup test, restored again by the Restore and from-destination tests. */
	let chainSets: BackupResult[] = [];

	const backup = (type: 'full' | 'differential' | 'log') =>
		makeBackup(new SqlServerSource(), {
			connection,
			options: { ...defaultSqlServerDumpOptions, ...shared },
			environment: 'live',
			type,
			stagingFolder: staging,
			log: silentLogger,
		});
	const exec = (sql: string) => master.query(sql, {}, { timeoutMs: 0 });
	const db = quoteName(database);

	describe('SQL Server engine against a real server', () => {
		beforeAll(async () => {
			master = await connectSqlServer({ ...connection, database: 'master' });
			await exec(`CREATE DATABASE ${db} COLLATE Latin1_General_BIN`);
			await exec(`ALTER DATABASE ${db} SET RECOVERY FULL`);
			await exec(
				`USE ${db}; ` +
					"CREATE TABLE dbo.SA1010 (A1_FILIAL varchar(2) NOT NULL DEFAULT '  ', A1_NOME varchar(40) NOT NULL, D_E_L_E_T_ char(1) NOT NULL DEFAULT ' ', R_E_C_N_O_ int NOT NULL PRIMARY KEY, R_E_C_D_E_L_ int NOT NULL DEFAULT 0); " +
					'CREATE UNIQUE INDEX SA1010_UNQ ON dbo.SA1010 (A1_FILIAL, R_E_C_D_E_L_, R_E_C_N_O_); ' +
					'CREATE TABLE dbo.TOP_FIELD (FIELD_TABLE varchar(30), FIELD_NAME varchar(30), FIELD_TYPE char(1)); ' +
					"CREATE TABLE dbo.SYS_COMPANY (M0_CODIGO varchar(2), D_E_L_E_T_ char(1) NOT NULL DEFAULT ' ', R_E_C_N_O_ int NOT NULL); " +
					"INSERT INTO dbo.TOP_FIELD VALUES ('SA1010', 'A1_NOME', 'C'); INSERT INTO dbo.SYS_COMPANY (M0_CODIGO, R_E_C_N_O_) VALUES ('01', 1);",
			);
			await exec(`USE ${db}; EXEC('CREATE PROCEDURE dbo.MAT001_01 AS SELECT 1')`);
			await insertCustomers(1, 500);
			await mkdir(staging, { recursive: true });
		});

		afterAll(async () => {
			if (master) {
				for (const name of [restored, `totvs_old_${restored}`])
					await exec(
						`IF DB_ID(N'${name}') IS NOT NULL BEGIN ALTER DATABASE ${quoteName(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteName(name)}; END`,
					).catch(() => undefined);
				await exec(
					`IF DB_ID(N'${database}') IS NOT NULL BEGIN ALTER DATABASE ${db} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${db}; END`,
				).catch(() => undefined);
				await master.close();
			}
			await rm(staging, { recursive: true, force: true });
		});

		async function insertCustomers(from: number, to: number) {
			await exec(
				`USE ${db}; WITH n AS (SELECT TOP (${to - from + 1}) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) + ${from - 1} AS r FROM sys.all_objects a CROSS JOIN sys.all_objects b) ` +
					"INSERT INTO dbo.SA1010 (A1_NOME, R_E_C_N_O_) SELECT N'Cliente São João ' + CAST(r AS varchar(10)), r FROM n",
			);
		}

		it('the credential test reports version, edition and recovery model', async () => {
			const runner = await connectSqlServer(connection);
			try {
				const result = await describeServerForCredential(runner, database);
				expect(result.message).toMatch(
					/^Connected to SQL Server \d+\.\d+\.\d+\.\d+ .*; database totvs_live_[0-9a-f]+: recovery model FULL, collation Latin1_General_BIN/,
				);
				expect(result.ok).toBe(true);
			} finally {
				await runner.close();
			}
		});

		it('full → differential → log, verified with VERIFYONLY, restored through the chain and checked with DBCC CHECKDB', async () => {
			const full = await backup('full');
			await insertCustomers(501, 600);
			const diff = await backup('differential');
			await insertCustomers(601, 650);
			const log = await backup('log');
			expect(diff.manifest.baseBackupId).toBe(full.manifest.backupId);
			expect(log.manifest.baseBackupId).toBe(full.manifest.backupId);
			const logInventory = manifestOf(log.manifest, 'sqlserver').inventory;
			expect(logInventory.tables.find((t) => t.name === 'SA1010')).toMatchObject({
				rows: 650,
				maxRecno: 650,
				protheus: true,
			});
			expect(logInventory.backup.lsnSource).toBe('msdb');

			for (const set of [full, diff, log]) {
				const { verification } = await verifyLocalSet(set.folder, {
					sqlServer: { connect: () => connectSqlServer(connection), shared },
				});
				expect(verification.checks.filter((c) => !c.ok)).toEqual([]);
			}

			const chain = await planSqlServerRestore(log.folder, log.manifest);
			expect(chain.map((s) => s.manifest.backupId)).toEqual([
				full.manifest.backupId,
				diff.manifest.backupId,
				log.manifest.backupId,
			]);
			const result = await runSqlServerRestoreTest({
				chain,
				runner: master,
				shared,
				rowTolerance: 0,
				statsPercent: 25,
				log: silentLogger,
			});
			expect(result.checks.filter((c) => !c.ok)).toEqual([]);
			expect(result.passed).toBe(true);
			const [gone] = rowsOf<{ id: unknown }>(
				await master.query('SELECT DB_ID(@name) AS id', { name: result.database }),
			);
			expect(gone.id).toBeNull();
			chainSets = [full, diff, log];
		});

		const restoreInto = (replaceExisting: boolean) =>
			runSqlServerSetRestore({
				folder: chainSets[2].folder,
				connect: () => connectSqlServer(connection, 'master'),
				sharedFolder: () => shared,
				target: restored,
				replaceExisting,
				allowSourceDatabase: false,
				log: silentLogger,
			});
		const count = async (name: string) =>
			rowsOf<{ n: number }>(await master.query(`SELECT COUNT(*) AS n FROM ${quoteName(name)}.dbo.SA1010`))[0].n;
		const exists = async (name: string) =>
			rowsOf<{ id: unknown }>(await master.query('SELECT DB_ID(@name) AS id', { name }))[0].id != null;

		it('Restore: the chain into a new database, then again with Replace (old one renamed aside, then dropped)', async () => {
			expect(chainSets).toHaveLength(3);
			const first = await restoreInto(false);
			expect(first.checks.filter((c) => !c.ok)).toEqual([]);
			expect(first).toMatchObject({ passed: true, database: restored, replaced: false });
			expect(await count(restored)).toBe(650);
			await expect(restoreInto(false)).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
			const again = await restoreInto(true);
			expect(again.checks.filter((c) => !c.ok)).toEqual([]);
			expect(again).toMatchObject({ passed: true, database: restored, replaced: true });
			expect(await count(restored)).toBe(650);
			expect(await exists(`totvs_old_${restored}`)).toBe(false);
			expect(await exists(`totvs_rs_${chainSets[2].manifest.backupId}`)).toBe(false);
			const [access] = rowsOf<{ a: string }>(
				await master.query('SELECT user_access_desc AS a FROM sys.databases WHERE name = @name', { name: restored }),
			);
			expect(access.a).toBe('MULTI_USER');
		});

		it('Restore Test from a destination: the chain is downloaded into the shared folder, restored from there, removed', async () => {
			expect(chainSets).toHaveLength(3);
			const offsiteFolder = await mkdtemp(join(staging, 'offsite-'));
			try {
				const offsite = new LocalFolderDestination({ type: 'local', folder: offsiteFolder });
				const lock = { owner: { hostname: hostname(), pid: process.pid }, options: { waitMs: 0 } };
				for (const set of chainSets) await uploadSet(offsite, set.folder, { lock });
				const fetched = await fetchRemoteSqlServerChain(offsite, {
					environment: 'live',
					sharedFolder: () => shared,
					stagingFolder: staging,
					logger: silentLogger,
				});
				try {
					expect(fetched.chain).toEqual(chainSets.map((s) => s.manifest.backupId));
					const report = await runSqlServerSetRestoreTest({
						folder: fetched.folder,
						connect: () => connectSqlServer(connection, 'master'),
						sharedFolder: () => fetched.shared,
						rowTolerance: 0,
						log: silentLogger,
					});
					expect(report.checks.filter((c) => !c.ok)).toEqual([]);
					expect(report.passed).toBe(true);
				} finally {
					await fetched.finish(false);
				}
				expect((await readdir(staging)).filter((name) => name.startsWith('.restore-test-download-'))).toEqual([]);
			} finally {
				await rm(offsiteFolder, { recursive: true, force: true });
			}
		});

		it('refuses a log backup under the SIMPLE recovery model', async () => {
			await exec(`ALTER DATABASE ${db} SET RECOVERY SIMPLE`);
			const error = await backup('log').catch((e: unknown) => e);
			expect(error).toBeInstanceOf(BackupError);
			expect((error as BackupError).code).toBe('UNSUPPORTED_OPTION');
		});
	});
}
