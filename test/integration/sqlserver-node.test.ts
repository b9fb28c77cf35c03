/**
 * TOTVS Dump with the SQL Server source inside n8n's real engine. No SQL Server runs here, so
 * this proves the node's side only: the source option dispatches to the SQL Server engine,
 * parameters and the "TOTVS SQL Server" credential reach it, and its errors come back as n8n
 * errors (or, with Continue On Fail, as failed items) that say what to fix, without the password.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TotvsSqlServer } from '../../credentials/TotvsSqlServer.credentials';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../support/n8n-engine';
import { DUMP_TYPE } from '../../support/totvs-workflow';

const PASSWORD = 'Very-Secret-Mssql-Pw1';
let folder: string;
let closedPort: number;

beforeAll(async () => {
	folder = await mkdtemp(join(tmpdir(), 'totvs-mssql-node-'));
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	closedPort = (server.address() as { port: number }).port;
	await new Promise((resolve) => server.close(resolve));
});
afterAll(() => rm(folder, { recursive: true, force: true }));

function run(parameters: Record<string, unknown>, continueOnFail: boolean) {
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
						stagingFolder: folder,
						sqlServerFolder: 'D:\\Backup\\n8n',
						sqlServerLocalFolder: folder,
						...parameters,
					} as never,
					credentials: { totvsSqlServer: { id: 'mssql', name: 'Protheus SQL Server' } },
					continueOnFail,
				},
			],
			connections: { Start: { main: [[{ node: 'TOTVS Dump', type: 'main' as never, index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump()]),
			credentialTypes: [new TotvsSqlServer()],
			credentials: {
				mssql: {
					type: 'totvsSqlServer',
					name: 'Protheus SQL Server',
					data: {
						server: '127.0.0.1',
						connectBy: 'port',
						port: closedPort,
						database: 'PROTHEUS',
						authentication: 'sql',
						user: 'backup_n8n',
						password: PASSWORD,
						encrypt: false,
						connectTimeout: 3,
					},
				},
			},
		},
	);
}

describe('TOTVS Dump with a SQL Server source, in n8n', () => {
	it('an unreachable server is a node error naming server and port, never the password', async () => {
		const result = await run({ sqlServerBackupType: 'full' }, false);
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(new RegExp(`^Cannot reach SQL Server 127\\.0\\.0\\.1:${closedPort}: `));
		expect((result.error as { description?: string }).description).toMatch(/accepts TCP\/IP connections/);
		expect(JSON.stringify(result.run)).not.toContain(PASSWORD);
		expect(result.logs.join('\n')).not.toContain(PASSWORD);
	});

	it('with Continue On Fail, a missing mount becomes a failed item saying what to mount', async () => {
		const result = await run({ sqlServerBackupType: 'log', sqlServerLocalFolder: join(folder, 'not-mounted') }, true);
		expect(result.status).toBe('success');
		const [item] = result.jsonOf('TOTVS Dump');
		expect(item.status).toBe('failed');
		expect((item.error as { message: string }).message).toMatch(
			/not-mounted \(as n8n sees it\) does not exist or is not a folder/,
		);
		expect((item.error as { description: string }).description).toMatch(/mount -t cifs/);
		expect(item.summary).toMatch(/^TOTVS Dump FAILED: /);
	});
});
