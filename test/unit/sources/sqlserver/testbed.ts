/** What the SQL Server unit suites share: a temporary share seen by the fake server, and backups into it. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBackup } from '../../../../core/backup';
import { silentLogger, type Logger } from '../../../../core/logger';
import type { SqlServerConnection } from '../../../../core/sources/sqlserver/connection';
import {
	defaultSqlServerDumpOptions,
	SqlServerSource,
	type SqlServerDumpOptions,
} from '../../../../core/sources/sqlserver/sqlserver-source';
import { FakeSqlServer } from './fake-sql-server';

export const testConnection: SqlServerConnection = {
	server: 'sqlprod01',
	port: 1433,
	database: 'PROTHEUS',
	authentication: 'sql',
	user: 'backup_n8n',
	password: 'not-a-real-secret',
	encrypt: true,
	trustServerCertificate: false,
	connectTimeoutMs: 15000,
	requestTimeoutMs: 60000,
};

export interface Testbed {
	root: string;
	/** The shared folder as n8n sees it (the fake server writes here). */
	share: string;
	serverFolder: string;
	fake: FakeSqlServer;
	backup(
		type: 'full' | 'differential' | 'log',
		options?: Partial<SqlServerDumpOptions>,
		stagingFolder?: string,
		connection?: SqlServerConnection,
	): ReturnType<typeof makeBackup>;
	dispose(): Promise<void>;
}

export async function makeTestbed(serverFolder = 'D:\\Backup\\n8n', log: Logger = silentLogger): Promise<Testbed> {
	const root = await mkdtemp(join(tmpdir(), 'totvs-mssql-'));
	const share = join(root, 'share');
	await mkdir(share);
	const fake = new FakeSqlServer(serverFolder, share);
	return {
		root,
		share,
		serverFolder,
		fake,
		backup: (type, options = {}, stagingFolder = share, connection = testConnection) =>
			makeBackup(new SqlServerSource(async () => fake.runner()), {
				connection,
				options: { ...defaultSqlServerDumpOptions, serverFolder, localFolder: share, ...options },
				environment: 'prod',
				type,
				stagingFolder,
				log,
			}),
		dispose: () => rm(root, { recursive: true, force: true }),
	};
}
