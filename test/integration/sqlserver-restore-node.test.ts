/**
 * TOTVS Dump (SQL Server) -> [TOTVS Upload ->] TOTVS Restore Test / TOTVS Restore inside n8n's real engine. No
 * SQL Server runs here: the mssql driver's connect is replaced by the scripted fake of
 * test/unit/sources/sqlserver (it "writes" backups into a temporary share, restores, answers DBCC, renames
 * and drops databases), so this proves the nodes' side: the restore server's credential and the
 * shared folder reach the restore, DBCC and RESTORE failures fail the item with the right check,
 * the scratch database is dropped every time, Restore takes its target name only after the
 * checks, and a set from a destination is downloaded into the share and removed afterwards (and
 * the test recorded beside it on the destination).
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { parseRestoreRecord } from '../../core/restore-record';
import { TotvsPostgres } from '../../credentials/TotvsPostgres.credentials';
import { TotvsSqlServer } from '../../credentials/TotvsSqlServer.credentials';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsUpload } from '../../nodes/TotvsUpload/TotvsUpload.node';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../support/n8n-engine';
import { DUMP_TYPE, UPLOAD_TYPE } from '../../support/totvs-workflow';
import { FakeSqlServer, sqlError } from '../unit/sources/sqlserver/fake-sql-server';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const RESTORE_TYPE = `${PACKAGE_NAME}.totvsRestore`;
const SERVER_FOLDER = 'D:\\Backup\\n8n';
const PASSWORD = 'Very-Secret-Mssql-Pw1';
const RESTORE_PASSWORD = 'Restore-Server-Pw-42';

// The only stand-in: the driver connection. Everything above it (nodes, core, files) is real.
let mockFake: FakeSqlServer;
const mockConnections: Array<{ server: string; database: string }> = [];
jest.mock('../../core/sources/sqlserver/mssql-runner', () => ({
	connectSqlServer: jest.fn(async (connection: { server: string; database: string }, database?: string) => {
		mockConnections.push({ server: connection.server, database: database ?? connection.database });
		return mockFake.runner();
	}),
}));

let root: string;
let share: string;

beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-mssql-restore-'));
	share = join(root, 'share');
	await mkdir(share);
	mockFake = new FakeSqlServer(SERVER_FOLDER, share);
	mockConnections.length = 0;
});
afterEach(() => rm(root, { recursive: true, force: true }));

const credentials = {
	mssql: {
		type: 'totvsSqlServer',
		name: 'Protheus SQL Server',
		data: {
			server: 'sqlprod01',
			connectBy: 'port',
			port: 1433,
			database: 'PROTHEUS',
			authentication: 'sql',
			user: 'backup_n8n',
			password: PASSWORD,
			encrypt: true,
		},
	},
	restore: {
		type: 'totvsSqlServer',
		name: 'Restore SQL Server',
		data: {
			server: 'sqlrestore01',
			connectBy: 'port',
			port: 1433,
			database: 'master',
			authentication: 'sql',
			user: 'restore_n8n',
			password: RESTORE_PASSWORD,
			encrypt: true,
		},
	},
	// For a SQL Server set sent to a PostgreSQL restore server: refused before anything connects.
	pgRestore: {
		type: 'totvsPostgres',
		name: 'Restore PostgreSQL',
		data: { host: '127.0.0.1', port: 1, database: 'postgres', user: 'x', password: 'x', sslMode: 'disable' },
	},
};

/**
 * Manual Trigger -> TOTVS Dump (SQL Server, `backupType`) [-> TOTVS Upload (local folder
 * `offsite`)] [-> TOTVS Restore Test, or TOTVS Restore for operation "database"]. Dump stages in
 * the share unless `stagingFolder` is given. `restoreServer`: the credential the restore uses.
 */
function dumpThen(
	backupType: 'full' | 'differential' | 'log',
	restoreParameters?: IDataObject,
	continueOnFail = false,
	via?: { stagingFolder: string; offsite: string },
	restoreServer: 'restore' | 'mssql' = 'restore',
) {
	const nodes = [
		{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
		{
			name: 'TOTVS Dump',
			type: DUMP_TYPE,
			parameters: {
				source: 'sqlserver',
				environment: 'prod',
				sqlServerBackupType: backupType,
				stagingFolder: via?.stagingFolder ?? share,
				sqlServerFolder: SERVER_FOLDER,
				sqlServerLocalFolder: share,
			},
			credentials: { totvsSqlServer: { id: 'mssql', name: 'Protheus SQL Server' } },
		},
	];
	const names = ['Start', 'TOTVS Dump'];
	if (via) {
		nodes.push({
			name: 'TOTVS Upload',
			type: UPLOAD_TYPE,
			parameters: { destination: 'local', operation: 'upload', localFolder: via.offsite },
		} as never);
		names.push('TOTVS Upload');
	}
	if (restoreParameters) {
		const real = restoreParameters.operation === 'database';
		nodes.push({
			name: real ? 'TOTVS Restore' : 'TOTVS Restore Test',
			type: real ? RESTORE_TYPE : RESTORE_TEST_TYPE,
			// The folder Dump recorded is used only from a manifest signed by a trusted key (issue 12):
			// unsigned sets need the Backup Folder parameters.
			parameters: {
				restoreServer: 'sqlserver',
				sqlServerFolder: SERVER_FOLDER,
				sqlServerLocalFolder: share,
				...restoreParameters,
			} as never,
			credentials: {
				totvsSqlServer: { id: restoreServer, name: credentials[restoreServer].name },
				totvsPostgres: { id: 'pgRestore', name: 'Restore PostgreSQL' },
			},
			continueOnFail,
		} as never);
		names.push(real ? 'TOTVS Restore' : 'TOTVS Restore Test');
	}
	const connections = Object.fromEntries(
		names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]),
	);
	return runWorkflow(
		{ nodes, connections: connections as never },
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsUpload(), new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsSqlServer(), new TotvsPostgres()],
			credentials,
		},
	);
}

interface Check {
	name: string;
	ok: boolean;
	actual: string;
	message: string;
}
const restoreTestOf = (item: IDataObject) =>
	item.restoreTest as { passed: boolean; restoreMs: number; scratchDatabase: string; kept: boolean; checks: Check[] };

describe('TOTVS Dump (SQL Server) -> TOTVS Restore Test, in n8n', () => {
	it('restores the full on the restore server through the shared folder, runs DBCC and the TOTVS checks, drops the scratch database', async () => {
		const result = await dumpThen('full', {});
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore Test');
		const scratch = `totvs_rt_${dumped.backupId}`;
		const serverPath = `${SERVER_FOLDER}\\prod\\${dumped.backupId}\\PROTHEUS_FULL.bak`;
		// The restore ran on the restore server's credential, not production's.
		expect(mockConnections.at(-1)).toEqual({ server: 'sqlrestore01', database: 'master' });
		expect(mockFake.statements).toContain(`RESTORE FILELISTONLY FROM DISK = N'${serverPath}'`);
		expect(
			mockFake.statements.some((s) =>
				s.startsWith(`RESTORE DATABASE [${scratch}] FROM DISK = N'${serverPath}' WITH FILE = 1, MOVE N'PROTHEUS_Data'`),
			),
		).toBe(true);
		expect(mockFake.statements).toContain(`RESTORE DATABASE [${scratch}] WITH RECOVERY`);
		expect(mockFake.statements).toContain(`DBCC CHECKDB ([${scratch}]) WITH NO_INFOMSGS, ALL_ERRORMSGS`);
		expect(mockFake.droppedDatabases).toEqual([scratch]);

		const section = restoreTestOf(item);
		expect(section.passed).toBe(true);
		expect(section.scratchDatabase).toBe(scratch);
		expect(section.kept).toBe(false);
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(section.checks.map((c) => c.name)).toEqual([
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
			'cleanup',
		]);
		expect(item).toMatchObject({
			status: 'ok',
			backupId: dumped.backupId,
			engine: 'sqlserver',
			location: dumped.location,
		});
		expect(item.summary).toMatch(
			new RegExp(`^Restore test of backup ${dumped.backupId} into ${scratch} PASSED: all 16 checks passed`),
		);
		// The restore server (sqlrestore01) is not the set's source (sqlprod01): no warning.
		expect(item.restoreTest).toMatchObject({ onSourceServer: false, warnings: [], record: null });
		expect(item.summary).not.toMatch(/Warning/);
		const run = JSON.stringify(result.run);
		expect(run).not.toContain(PASSWORD);
		expect(run).not.toContain(RESTORE_PASSWORD);
	});

	it('a log set is restored through its chain: full, then the log, NORECOVERY until RECOVERY', async () => {
		const first = await dumpThen('full');
		expect(first.error).toBeUndefined();
		const [full] = first.jsonOf('TOTVS Dump');
		mockFake.statements.length = 0;
		const result = await dumpThen('log', {});
		expect(result.error).toBeUndefined();
		const [log] = result.jsonOf('TOTVS Dump');
		const scratch = `totvs_rt_${log.backupId}`;
		const restores = mockFake.statements.filter((s) => /^RESTORE (DATABASE|LOG) /.test(s));
		expect(restores.map((s) => s.replace(/ WITH .*/, '').replace(/ FROM DISK = N'.*\\(.*)\\[^\\]*'$/, ' $1'))).toEqual([
			`RESTORE DATABASE [${scratch}] ${full.backupId}`,
			`RESTORE LOG [${scratch}] ${log.backupId}`,
			`RESTORE DATABASE [${scratch}]`,
		]);
		expect(restores.slice(0, 2).every((s) => s.includes('NORECOVERY'))).toBe(true);
		expect(restoreTestOf(result.jsonOf('TOTVS Restore Test')[0]).passed).toBe(true);
		expect(mockFake.droppedDatabases).toEqual([scratch]);
	});

	it("a test on the set's own server (production's credential) is flagged in the item and the summary", async () => {
		const result = await dumpThen('full', {}, false, undefined, 'mssql');
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore Test');
		expect(mockConnections.at(-1)).toEqual({ server: 'sqlprod01', database: 'master' });
		const warning = `Warning: the restore server sqlprod01:1433 is the server backup ${dumped.backupId} was taken from`;
		expect(item.restoreTest).toMatchObject({
			passed: true,
			onSourceServer: true,
			warnings: [expect.stringContaining(warning)],
		});
		expect(item.summary).toMatch(new RegExp(`PASSED: all 16 checks passed .* ${warning}`));
	});

	it('DBCC CHECKDB errors fail the dbcc check and the item, and the scratch database is still dropped', async () => {
		const corruption = [
			{
				number: 8928,
				severity: 16,
				message:
					'Object ID 901578250, index ID 1, partition ID 72057594045071360: Page (1:312) could not be processed.',
			},
			{
				number: 8990,
				severity: 10,
				message: "CHECKDB found 0 allocation errors and 1 consistency errors in table 'SA1010' (object ID 901578250).",
			},
		];
		mockFake.failOn(/^DBCC CHECKDB/, Object.assign(sqlError(8928, corruption[0].message), { errors: corruption }));
		const result = await dumpThen('full', {}, true);
		expect(result.status).toBe('success');
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore Test');
		const section = restoreTestOf(item);
		expect(section.passed).toBe(false);
		expect(section.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['dbcc']);
		expect(section.checks.find((c) => c.name === 'dbcc')!.message).toMatch(
			/^DBCC CHECKDB reported: Msg 8928: .*Page \(1:312\).*Msg 8990: CHECKDB found 0 allocation errors and 1 consistency errors/,
		);
		expect(section.checks.find((c) => c.name === 'cleanup')).toMatchObject({ ok: true });
		expect(mockFake.droppedDatabases).toEqual([`totvs_rt_${dumped.backupId}`]);
		expect(item.status).toBe('failed');
		expect(item.summary).toMatch(/FAILED \(1 of 16 checks\): dbcc: DBCC CHECKDB reported: Msg 8928/);
	});

	it('a failed RESTORE fails the node clearly, runs nothing more, and leaves no scratch database', async () => {
		mockFake.failOn(
			/^RESTORE DATABASE \[totvs_rt_.*\] FROM DISK/,
			sqlError(3183, 'RESTORE detected an error on page (1:4120) in database "x" as read from the backup set.'),
		);
		const result = await dumpThen('full', {});
		expect(result.status).toBe('error');
		expect(result.nodeError('TOTVS Restore Test')).toBeDefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		expect(result.error?.message).toMatch(
			new RegExp(
				`^Restore test of backup set ${dumped.backupId} failed: restore: RESTORE of ${dumped.backupId} \\(D:\\\\Backup.*PROTHEUS_FULL\\.bak\\) failed: Msg 3183: RESTORE detected an error on page`,
			),
		);
		expect((result.error as { description?: string }).description).toMatch(/^Do not rely on this backup/);
		expect(mockFake.statements.some((s) => s.startsWith('DBCC'))).toBe(false);
		// No scratch database is left (a RESTORE that failed at once created none to drop).
		expect([...mockFake.existingDatabases]).toEqual([]);
	});

	it('TOTVS Restore: the chain is restored into totvs_rs_<id>, checked, then renamed to the target, working from master', async () => {
		const result = await dumpThen('full', { operation: 'database', targetDatabase: 'PROTHEUS_RESTORED' });
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore');
		const staging = `totvs_rs_${dumped.backupId}`;
		expect(mockConnections.at(-1)).toEqual({ server: 'sqlrestore01', database: 'master' });
		expect(mockFake.statements.some((s) => s.startsWith(`RESTORE DATABASE [${staging}] FROM DISK`))).toBe(true);
		expect(mockFake.statements.at(-1)).toBe(`ALTER DATABASE [${staging}] MODIFY NAME = [PROTHEUS_RESTORED]`);
		expect([...mockFake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
		const section = item.restore as {
			passed: boolean;
			database: string;
			replaced: boolean;
			kept: boolean;
			checks: Check[];
		};
		expect(section).toMatchObject({ passed: true, database: 'PROTHEUS_RESTORED', replaced: false, kept: false });
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(item).toMatchObject({ status: 'ok', backupId: dumped.backupId, engine: 'sqlserver' });
		expect(item.restoreTest).toBeUndefined();
		expect(item.summary).toMatch(
			new RegExp(`^Restore of backup ${dumped.backupId} into PROTHEUS_RESTORED PASSED: all 15 checks passed`),
		);
	});

	it('TOTVS Restore over an existing database: refused without Replace; with it, the old one is renamed aside and dropped after the swap', async () => {
		mockFake.existingDatabases.add('PROTHEUS_RESTORED');
		const refused = await dumpThen('full', { operation: 'database', targetDatabase: 'PROTHEUS_RESTORED' });
		expect(refused.status).toBe('error');
		expect(refused.error?.message).toBe('Database "PROTHEUS_RESTORED" already exists on sa@sqlprod01:1433/PROTHEUS');
		expect((refused.error as { description?: string }).description).toMatch(/turn on "Replace Existing Database"/);
		expect(mockFake.statements.some((s) => /^(RESTORE DATABASE|ALTER DATABASE)/.test(s))).toBe(false);

		const result = await dumpThen('full', {
			operation: 'database',
			targetDatabase: 'PROTHEUS_RESTORED',
			replaceExisting: true,
		});
		expect(result.error).toBeUndefined();
		const section = result.jsonOf('TOTVS Restore')[0].restore as {
			passed: boolean;
			replaced: boolean;
			checks: Check[];
		};
		expect(section).toMatchObject({ passed: true, replaced: true });
		expect(section.checks.at(-1)).toMatchObject({ name: 'cleanup', ok: true });
		expect(mockFake.renames.map((r) => r.to)).toEqual(['totvs_old_PROTHEUS_RESTORED', 'PROTHEUS_RESTORED']);
		expect(mockFake.droppedDatabases).toEqual(['totvs_old_PROTHEUS_RESTORED']);
		expect([...mockFake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
	});

	it('TOTVS Restore whose RESTORE fails: the item fails, no staging copy is left, the existing target is untouched', async () => {
		mockFake.existingDatabases.add('PROTHEUS_RESTORED');
		mockFake.failOn(
			/^RESTORE DATABASE \[totvs_rs_.*\] FROM DISK/,
			sqlError(3183, 'RESTORE detected an error on page (1:4120) in database "x" as read from the backup set.'),
		);
		const result = await dumpThen('full', {
			operation: 'database',
			targetDatabase: 'PROTHEUS_RESTORED',
			replaceExisting: true,
		});
		expect(result.status).toBe('error');
		const [dumped] = result.jsonOf('TOTVS Dump');
		expect(result.error?.message).toMatch(
			new RegExp(
				`^Restore of backup set ${dumped.backupId} failed: restore: RESTORE of ${dumped.backupId} .* Msg 3183`,
			),
		);
		expect((result.error as { description?: string }).description).toBe(
			'The target database was not created or replaced. Restore another set, or investigate this one.',
		);
		// No staging copy is left (a RESTORE that failed at once created none to drop).
		expect(mockFake.existingDatabases.has(`totvs_rs_${dumped.backupId}`)).toBe(false);
		expect(mockFake.statements.some((s) => s.startsWith('ALTER DATABASE'))).toBe(false);
		expect([...mockFake.existingDatabases]).toEqual(['PROTHEUS_RESTORED']);
	});

	it('From a Destination: Dump -> Upload (local folder) -> Restore Test downloads the chain into the share, restores it there, removes it', async () => {
		const via = { stagingFolder: join(root, 'dumps'), offsite: join(root, 'offsite') };
		await mkdir(via.stagingFolder);
		await mkdir(via.offsite);
		const first = await dumpThen('full', undefined, false, via);
		expect(first.error).toBeUndefined();
		const [full] = first.jsonOf('TOTVS Dump');
		mockFake.statements.length = 0;
		const fromDestination = {
			setSource: 'destination',
			destination: 'local',
			localFolder: via.offsite,
			environment: 'prod',
			pick: 'latest',
			// An unsigned set from a destination chooses no folder (issue 12): the node gives it.
			sqlServerFolder: SERVER_FOLDER,
			sqlServerLocalFolder: share,
		};
		const result = await dumpThen('log', fromDestination, false, via);
		expect(result.error).toBeUndefined();
		const [log] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore Test');
		const section = item.restoreTest as { passed: boolean; checks: Check[]; source: IDataObject };
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(section.passed).toBe(true);
		expect(section.source).toMatchObject({
			destination: `file://${via.offsite}`,
			remotePath: `prod/${log.backupId}`,
			verified: true,
			keptAt: null,
			chain: [full.backupId, log.backupId],
		});
		// SQL Server read the downloaded copies inside the share, through its own path to it.
		const paths = mockFake.statements
			.filter((s) => /^RESTORE (DATABASE|LOG) .* FROM DISK/.test(s))
			.map((s) => /FROM DISK = N'([^']*)'/.exec(s)![1]);
		expect(paths).toHaveLength(2);
		for (const [i, id] of [full.backupId, log.backupId].entries())
			expect(paths[i]).toMatch(
				new RegExp(
					`^D:\\\\Backup\\\\n8n\\\\\\.restore-test-download-[^\\\\]+\\\\prod\\\\${id}\\\\PROTHEUS_(FULL\\.bak|LOG\\.trn)$`,
				),
			);
		// The download is gone; the item keeps Dump's location (the removed copy's path is not passed on).
		expect((await readdir(share)).filter((name) => name.startsWith('.restore-test-download-'))).toEqual([]);
		expect(item.location).toBe(log.location);
		expect(item).toMatchObject({ status: 'ok', backupId: log.backupId });
		// The test is recorded beside the set on the destination, naming the whole chain it restored.
		const records = (await readdir(join(via.offsite, 'prod'))).filter((name) => name.includes('.restore-test-'));
		expect(records).toEqual([
			expect.stringMatching(new RegExp(`^${log.backupId}\\.restore-test-\\d{8}T\\d{6}Z-passed-`)),
		]);
		expect((item.restoreTest as IDataObject).record).toEqual({
			destination: `file://${via.offsite}`,
			remotePath: `prod/${records[0]}`,
		});
		const record = parseRestoreRecord(await readFile(join(via.offsite, 'prod', records[0]), 'utf8'), records[0]);
		expect(record).toMatchObject({
			testedId: log.backupId,
			backupIds: [full.backupId, log.backupId],
			engine: 'sqlserver',
			passed: true,
			restoreServer: { engine: 'sqlserver', host: 'sqlrestore01', port: 1433, target: `totvs_rt_${log.backupId}` },
			sourceDestination: `file://${via.offsite}`,
		});
		expect(JSON.stringify(record)).not.toContain(RESTORE_PASSWORD);
	});

	it('a SQL Server set on a PostgreSQL restore server says which restore server to choose', async () => {
		const result = await dumpThen('full', { restoreServer: 'postgres' });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(
			/^Backup set .* is a SQL Server backup, but the restore server is PostgreSQL$/,
		);
		expect((result.error as { description?: string }).description).toMatch(/Set "Restore Server" to SQL Server/);
	});
});
