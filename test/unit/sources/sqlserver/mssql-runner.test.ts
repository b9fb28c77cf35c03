/**
 * The mssql-backed runner's connection errors, against loopback sockets (no SQL Server here):
 * a closed port, and a listener that accepts and hangs up, both surface as UNREACHABLE naming
 * the server. Queries against a real server run in test/integration/sqlserver-live.test.ts.
 */
import { createServer, type Server } from 'node:net';
import { BackupError } from '../../../../core/errors';
import type { SqlServerConnection } from '../../../../core/sources/sqlserver/connection';
import { connectSqlServer } from '../../../../core/sources/sqlserver/mssql-runner';

const base: SqlServerConnection = {
	server: '127.0.0.1',
	port: 1,
	database: 'PROTHEUS',
	authentication: 'sql',
	user: 'sa',
	password: 'Secret-Pass-1',
	encrypt: false,
	trustServerCertificate: false,
	connectTimeoutMs: 3000,
	requestTimeoutMs: 3000,
};

async function listen(onConnection: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
	const server = createServer(onConnection!);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { server, port: (server.address() as { port: number }).port };
}

describe('connectSqlServer (mssql / tedious)', () => {
	it('a closed port is UNREACHABLE, naming server and port, without the password', async () => {
		const { server, port } = await listen(() => undefined);
		await new Promise((resolve) => server.close(resolve));
		const error = (await connectSqlServer({ ...base, port }).catch((e: unknown) => e)) as BackupError;
		expect(error).toBeInstanceOf(BackupError);
		expect(error.code).toBe('UNREACHABLE');
		expect(error.message).toMatch(new RegExp(`^Cannot reach SQL Server 127\\.0\\.0\\.1:${port}: `));
		expect(`${error.message} ${error.hint}`).not.toContain('Secret-Pass-1');
	});

	it('a listener that is not SQL Server (hangs up) is UNREACHABLE too', async () => {
		const { server, port } = await listen((socket) => socket.destroy());
		try {
			const error = (await connectSqlServer({ ...base, port }).catch((e: unknown) => e)) as BackupError;
			expect(error).toBeInstanceOf(BackupError);
			expect(error.code).toBe('UNREACHABLE');
		} finally {
			server.close();
		}
	});
});
