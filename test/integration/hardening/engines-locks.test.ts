/**
 * Issue 11 item 8, PostgreSQL: a dump no longer waits forever for a table lock. Another session
 * holds ACCESS EXCLUSIVE on a table in an open transaction; the dump gives up after "Lock Wait
 * Timeout" and its error names the session that held the lock, so the DBA knows whom to stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { makeBackup } from '../../../core/backup';
import { BackupError } from '../../../core/errors';
import type { Logger } from '../../../core/logger';
import { silentLogger } from '../../../core/logger';
import type { PostgresConnection } from '../../../core/sources/postgres/connection';
import {
	defaultDumpOptions,
	PostgresSource,
	type PostgresDumpOptions,
} from '../../../core/sources/postgres/postgres-source';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';

const server = sharedPostgres();
const BLOCKER_APP = 'erp-month-end-close';
let database: string;
let staging: string;
let blocker: Client | undefined;

beforeAll(async () => {
	database = uniqueName('locks');
	await createProtheusDatabase(server, { name: database, scale: 1 });
});
afterAll(async () => {
	await dropDatabase(server, database);
});
beforeEach(() => {
	staging = mkdtempSync(join(tmpdir(), 'totvs-locks-staging-'));
});
afterEach(async () => {
	await blocker?.end().catch(() => undefined);
	blocker = undefined;
	rmSync(staging, { recursive: true, force: true });
});

const connection = (): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database,
	user: server.user,
	password: server.password,
	sslMode: 'disable',
	binFolder: server.binDir,
});

/** Another session of the ERP: connected, inside a transaction, ready to lock. */
async function openBlocker(): Promise<{ client: Client; pid: number; lock: () => Promise<unknown> }> {
	const client = new Client({ ...connection(), application_name: BLOCKER_APP });
	client.on('error', () => undefined);
	await client.connect();
	blocker = client;
	const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
	await client.query('BEGIN');
	return { client, pid, lock: () => client.query('LOCK TABLE public.sa1010 IN ACCESS EXCLUSIVE MODE') };
}

async function dump(options: Partial<PostgresDumpOptions>, log: Logger = silentLogger): Promise<unknown> {
	try {
		await makeBackup(new PostgresSource(), {
			connection: connection(),
			options: { ...defaultDumpOptions, ...options },
			environment: 'prod',
			type: 'full',
			stagingFolder: staging,
			log,
		});
	} catch (error) {
		return error;
	}
	return undefined;
}

function expectNamesBlocker(error: unknown, pid: number) {
	expect(error).toBeInstanceOf(BackupError);
	const { message, hint } = error as BackupError;
	expect(message).toMatch(/lock/i);
	expect(message).toContain(String(pid));
	expect(message).toContain(BLOCKER_APP);
	expect(message).toContain(server.user);
	expect(message).toMatch(/sa1010/);
	expect(hint).toMatch(/wait|stop|pg_terminate_backend|Lock Wait Timeout/i);
}

describe('item 8: pg_dump does not wait forever for a lock', () => {
	it('the default waits 600 s, not forever', () => {
		expect(defaultDumpOptions.lockWaitTimeoutSeconds).toBe(600);
	});

	it('a table locked before the dump starts: the dump fails within seconds, naming the session holding the lock', async () => {
		const { pid, lock } = await openBlocker();
		await lock();
		const started = Date.now();
		const error = await dump({ lockWaitTimeoutSeconds: 1 });
		expect(Date.now() - started).toBeLessThan(20_000);
		expectNamesBlocker(error, pid);
	}, 30_000);

	it('a table locked once the pre-flight passed: pg_dump (or the inventory beside it) gives up and names the holder', async () => {
		const { pid, lock } = await openBlocker();
		let locking: Promise<unknown> | undefined;
		const log: Logger = {
			...silentLogger,
			info: (message: string) => {
				// The pre-flight read every table's size; lock before pg_dump and the inventory do.
				if (message.startsWith('Pre-flight passed')) locking = lock();
			},
		};
		const started = Date.now();
		const error = await dump({ lockWaitTimeoutSeconds: 1 }, log);
		expect(locking).toBeDefined();
		await locking;
		expect(Date.now() - started).toBeLessThan(20_000);
		expectNamesBlocker(error, pid);
	}, 30_000);
});
