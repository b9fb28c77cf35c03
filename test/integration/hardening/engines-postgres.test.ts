/**
 * Issue 11, PostgreSQL engine items against the shared test server: the password file never
 * outlives a dump (item 7), the source-database guard recognises the server whatever address
 * reached it (item 4), and pg_dump gives up on a lock after the configured wait, naming who
 * held it (item 8).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBackup } from '../../../core/backup';
import { BackupError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import {
	defaultDumpOptions,
	PostgresSource,
	type PostgresDumpOptions,
} from '../../../core/sources/postgres/postgres-source';
import type { PostgresConnection } from '../../../core/sources/postgres/connection';
import { isSourceDatabase, isSourceServer } from '../../../core/sources/postgres/restore/pg-restore';
import { manifestOf } from '../../../core/backup-set/manifest';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';

const server = sharedPostgres();
let database: string;
let staging: string;

beforeAll(async () => {
	database = uniqueName('hardening');
	await createProtheusDatabase(server, { name: database, scale: 10 });
});
afterAll(async () => {
	await dropDatabase(server, database);
});
beforeEach(() => {
	staging = mkdtempSync(join(tmpdir(), 'totvs-hardening-staging-'));
});
afterEach(() => rmSync(staging, { recursive: true, force: true }));

const connection = (overrides: Partial<PostgresConnection> = {}): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database,
	user: server.user,
	password: server.password,
	sslMode: 'disable',
	binFolder: server.binDir,
	...overrides,
});

const dump = (options: Partial<PostgresDumpOptions> = {}, conn = connection()) =>
	makeBackup(new PostgresSource(), {
		connection: conn,
		options: { ...defaultDumpOptions, ...options },
		environment: 'prod',
		type: 'full',
		stagingFolder: staging,
		log: silentLogger,
	});

/**
 * Runs `body` with the temporary folder pointing at a private one (jest's process.env is not the
 * one node:os reads, hence the spy); returns the names left in it.
 */
async function leftInTmp(body: () => Promise<unknown>): Promise<{ left: string[]; error: unknown }> {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-private-tmp-'));
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const spy = jest.spyOn(require('node:os') as typeof import('node:os'), 'tmpdir').mockReturnValue(folder);
	let error: unknown;
	try {
		await body();
	} catch (e) {
		error = e;
	} finally {
		spy.mockRestore();
	}
	const left = readdirSync(folder);
	rmSync(folder, { recursive: true, force: true });
	return { left, error };
}

describe('item 7: the PGPASSFILE never outlives a dump', () => {
	it('a NUL byte in a table pattern is refused with a clear message and leaves no password file', async () => {
		const { left, error } = await leftInTmp(() =>
			dump({
				selection: { ...defaultDumpOptions.selection, excludeTables: ['sx5\u0000x'] },
			}),
		);
		expect(left).toEqual([]);
		expect(error).toBeInstanceOf(BackupError);
		expect((error as BackupError).message).toMatch(/NUL/);
		expect((error as BackupError).message).toMatch(/Exclude Tables|table pattern/i);
	});

	it('a successful dump leaves no password file either', async () => {
		const { left, error } = await leftInTmp(() => dump());
		expect(error).toBeUndefined();
		expect(left).toEqual([]);
	});
});

/** A TCP relay to the test server, as pgbouncer or another address of the same machine would be. */
async function relay(host: string): Promise<{ port: number; close: () => Promise<void> }> {
	const sockets = new Set<Socket>();
	const proxy: Server = createServer((inbound) => {
		const outbound = tcpConnect(server.port, server.host);
		for (const s of [inbound, outbound]) {
			sockets.add(s);
			s.on('error', () => undefined);
			s.on('close', () => sockets.delete(s));
		}
		inbound.pipe(outbound).pipe(inbound);
	});
	await new Promise<void>((resolve, reject) => {
		proxy.once('error', reject);
		proxy.listen(0, host, resolve);
	});
	return {
		port: (proxy.address() as AddressInfo).port,
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				proxy.close(() => resolve());
			}),
	};
}

describe('item 4: the source database is recognised whatever address reaches its server', () => {
	it('a set dumped via 127.0.0.1 is recognised as the source via localhost, via 127.0.1.1 on another port, and not elsewhere', async () => {
		const result = await dump({}, connection({ host: '127.0.0.1' }));
		const { source } = manifestOf(result.manifest, 'postgres');
		expect(source.systemIdentifier).toMatch(/^\d+$/);
		expect(await isSourceDatabase(source, connection({ host: 'localhost' }), database)).toBe(true);
		// Another loopback address and another port: a pgbouncer or a second listener of the same server.
		const other = await relay('127.0.1.1');
		try {
			const viaRelay = connection({ host: '127.0.1.1', port: other.port });
			expect(await isSourceServer(source, viaRelay)).toBe(true);
			expect(await isSourceDatabase(source, viaRelay, database)).toBe(true);
			expect(await isSourceDatabase(source, viaRelay, `${database}_copy`)).toBe(false);
		} finally {
			await other.close();
		}
		// A set of another cluster reached through that same relay is not this one's.
		const foreign = { ...source, host: 'db.elsewhere.example', systemIdentifier: '1' };
		const again = await relay('127.0.0.1');
		try {
			expect(await isSourceDatabase(foreign, connection({ host: '127.0.0.1', port: again.port }), database)).toBe(
				false,
			);
		} finally {
			await again.close();
		}
	});
});

describe('item 5: the default SSL mode', () => {
	it("'prefer' still dumps from a server without TLS (the test server has ssl off)", async () => {
		const [{ ssl }] = await server.admin<{ ssl: string }>("SELECT current_setting('ssl') AS ssl");
		expect(ssl).toBe('off');
		const result = await dump({}, connection({ sslMode: 'prefer' }));
		expect(result.manifest.backupId).toBeTruthy();
	});
});
