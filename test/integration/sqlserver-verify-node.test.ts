/**
 * TOTVS Dump (SQL Server) -> TOTVS Verify inside n8n's real engine. No SQL Server runs here: the
 * mssql driver's connect is replaced by the scripted fake of test/unit/sources/sqlserver (it "writes"
 * backups into a temporary share and answers HEADERONLY/VERIFYONLY), so this proves the nodes'
 * side: the "Check With SQL Server" option and credential reach RESTORE VERIFYONLY, failures
 * name the file, and without the option the check is reported as not run, never as passed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { TotvsSqlServer } from '../../credentials/TotvsSqlServer.credentials';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { TotvsVerify } from '../../nodes/TotvsVerify/TotvsVerify.node';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../support/n8n-engine';
import { DUMP_TYPE, VERIFY_TYPE } from '../../support/totvs-workflow';
import { FakeSqlServer, sqlError } from '../unit/sources/sqlserver/fake-sql-server';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const PASSWORD = 'Very-Secret-Mssql-Pw1';

// The only stand-in: the driver connection. Everything above it (nodes, core, files) is real.
let mockFake: FakeSqlServer;
const mockConnections: Array<{ server: string; database: string }> = [];
jest.mock('../../core/sources/sqlserver/mssql-runner', () => ({
	connectSqlServer: jest.fn(async (connection: { server: string; database: string }) => {
		mockConnections.push({ server: connection.server, database: connection.database });
		return mockFake.runner();
	}),
}));

let root: string;
let share: string;

beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-mssql-verify-'));
	share = join(root, 'share');
	await mkdir(share);
	mockFake = new FakeSqlServer(SERVER_FOLDER, share);
	mockConnections.length = 0;
});
afterEach(() => rm(root, { recursive: true, force: true }));

function dumpThenVerify(verifyParameters: IDataObject, continueOnFail = false) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Dump',
					type: DUMP_TYPE,
					parameters: {
						source: 'sqlserver',
						environment: 'prod',
						sqlServerBackupType: 'full',
						stagingFolder: share,
						sqlServerFolder: SERVER_FOLDER,
						sqlServerLocalFolder: share,
					},
					credentials: { totvsSqlServer: { id: 'mssql', name: 'Protheus SQL Server' } },
				},
				{
					name: 'TOTVS Verify',
					type: VERIFY_TYPE,
					// The folder Dump recorded is used only from a manifest signed by a trusted key (issue 12):
					// unsigned sets need the Backup Folder parameters.
					parameters: (verifyParameters.checkWithSqlServer
						? { sqlServerFolder: SERVER_FOLDER, sqlServerLocalFolder: share, ...verifyParameters }
						: verifyParameters) as never,
					credentials: verifyParameters.checkWithSqlServer
						? { totvsSqlServer: { id: 'mssql', name: 'Protheus SQL Server' } }
						: undefined,
					continueOnFail,
				},
			],
			connections: {
				Start: { main: [[{ node: 'TOTVS Dump', type: 'main' as never, index: 0 }]] },
				'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main' as never, index: 0 }]] },
			},
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify()]),
			credentialTypes: [new TotvsSqlServer()],
			credentials: {
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
			},
		},
	);
}

const checksOf = (item: IDataObject) =>
	(
		item.verification as {
			checks: Array<{ name: string; ok: boolean; notRun?: boolean; actual: string; message: string }>;
		}
	).checks;

describe('TOTVS Dump (SQL Server) -> TOTVS Verify, in n8n', () => {
	it('with "Check With SQL Server": HEADERONLY and VERIFYONLY WITH CHECKSUM run on the file SQL Server wrote, and pass', async () => {
		const result = await dumpThenVerify({ checkWithSqlServer: true });
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Verify');
		const serverPath = `${SERVER_FOLDER}\\prod\\${dumped.backupId}\\PROTHEUS_FULL.bak`;
		// Folders left empty: Verify used the mapping Dump recorded in the manifest.
		expect(mockFake.statements).toContain(`RESTORE HEADERONLY FROM DISK = N'${serverPath}'`);
		expect(mockFake.statements).toContain(`RESTORE VERIFYONLY FROM DISK = N'${serverPath}' WITH CHECKSUM`);
		expect(mockConnections.at(-1)).toEqual({ server: 'sqlprod01', database: 'PROTHEUS' });
		expect(checksOf(item).map((c) => [c.name, c.ok, c.notRun ?? false])).toEqual([
			['manifest', true, false],
			['artifacts', true, false],
			['chain', true, false],
			['verifyonly', true, false],
		]);
		expect(item.status).toBe('ok');
		expect(item.summary).toBe(`Backup ${dumped.backupId} verified: all 4 checks passed.`);
		expect(JSON.stringify(result.run)).not.toContain(PASSWORD);
	});

	it('explicit folder parameters override the recorded ones (a share mounted elsewhere now)', async () => {
		const result = await dumpThenVerify({
			checkWithSqlServer: true,
			sqlServerFolder: '\\\\filer\\totvs',
			sqlServerLocalFolder: share,
		});
		const [dumped] = result.jsonOf('TOTVS Dump');
		expect(mockFake.statements).toContain(
			`RESTORE HEADERONLY FROM DISK = N'\\\\filer\\totvs\\prod\\${dumped.backupId}\\PROTHEUS_FULL.bak'`,
		);
		// The fake only knows D:\Backup\n8n, so a server that cannot open the path fails the check.
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(
			/verifyonly of .*PROTHEUS_FULL\.bak \(SQL Server read \\\\filer\\totvs\\prod\\.*\\PROTHEUS_FULL\.bak\): Msg 3201: Cannot open backup device/,
		);
	});

	it("a damaged backup fails with an error naming the file and SQL Server's message", async () => {
		mockFake.failOn(/^RESTORE VERIFYONLY/, sqlError(3189, 'Damage to the backup set was detected.'));
		const result = await dumpThenVerify({ checkWithSqlServer: true });
		const [dumped] = result.jsonOf('TOTVS Dump');
		expect(result.status).toBe('error');
		expect(result.nodeError('TOTVS Verify')).toBeDefined();
		const localFile = join(share, 'prod', String(dumped.backupId), 'PROTHEUS_FULL.bak');
		const serverPath = `${SERVER_FOLDER}\\prod\\${dumped.backupId}\\PROTHEUS_FULL.bak`;
		expect(result.error?.message).toBe(
			`Backup set ${dumped.backupId} failed verification: verifyonly of ${localFile} (SQL Server read ${serverPath}): Msg 3189: Damage to the backup set was detected.`,
		);
		expect((result.error as { description?: string }).description).toMatch(/^Do not rely on this set/);
	});

	it('a damaged backup with Continue On Fail is a failed item carrying the checks', async () => {
		mockFake.failOn(/^RESTORE VERIFYONLY/, sqlError(3189, 'Damage to the backup set was detected.'));
		const result = await dumpThenVerify({ checkWithSqlServer: true }, true);
		expect(result.status).toBe('success');
		const [item] = result.jsonOf('TOTVS Verify');
		expect(item.status).toBe('failed');
		expect(checksOf(item).find((c) => c.name === 'verifyonly')).toMatchObject({ ok: false, actual: 'Msg 3189' });
		expect(item.summary).toMatch(/FAILED verification \(1 of 4 checks\): verifyonly: Msg 3189/);
	});

	it('without the option: VERIFYONLY not sent, reported as not run, item ok, summary says what was not checked', async () => {
		const result = await dumpThenVerify({});
		expect(result.error).toBeUndefined();
		expect(mockFake.statements.some((s) => s.startsWith('RESTORE VERIFYONLY'))).toBe(false);
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Verify');
		const verifyonly = checksOf(item).find((c) => c.name === 'verifyonly');
		expect(verifyonly).toMatchObject({ ok: false, notRun: true, actual: 'not run' });
		expect(item.status).toBe('ok');
		expect(item.summary).toBe(`Backup ${dumped.backupId} verified: 3 checks passed; not run: verifyonly.`);
		expect(result.logs.join('\n')).toMatch(/verifyonly not run: Needs a SQL Server that can read the set folder/);
	});
});
