/**
 * Restore (real) to a point in time against a real PostgreSQL 15, through the sets as TOTVS Dump
 * makes them (manifests written, the chain read back from the staging folder): a data folder
 * recovered to a time T between two batches holds the rows committed before T and none after;
 * started as the runbook says, it is a working cluster on a new timeline. A folder that is not
 * empty (a running cluster's above all) is refused before anything is written.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { isBackupError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import type { PostgresConnection } from '../../../core/sources/postgres';
import {
	defaultPitrOptions,
	makePitrBase,
	makePitrIncremental,
	newestChain,
	restoreToPointInTime,
} from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';
import { sleep } from './helpers';

const ENVIRONMENT = 'realrestore';
let server: PitrServer;
let connection: PostgresConnection;
let staging: string;
let root: string;
const log = silentLogger;
const options = { ...defaultPitrOptions, collectTimeoutMs: 90_000 };
const asPostgres = () => server.stopInfo().asPostgres;

beforeAll(async () => {
	server = await startPitrServer();
	await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin('CREATE DATABASE erp');
	await server.admin('CREATE TABLE t (id serial PRIMARY KEY, tag text)', 'erp');
	connection = {
		host: server.host,
		port: server.port,
		database: 'erp',
		user: 'backup',
		password: 'secret',
		sslMode: 'disable',
	};
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-restore-staging-'));
	// The restored folder belongs to the server's OS user: its parent must let that user in.
	root = mkdtempSync(join(tmpdir(), 'totvs-pitr-restore-'));
	chmodSync(root, 0o755);
}, 120_000);

afterAll(async () => {
	await server?.stop();
	for (const folder of [staging, root]) if (folder) rmSync(folder, { recursive: true, force: true });
});

const insert = (rows: number, tag: string) =>
	server.admin('INSERT INTO t (tag) SELECT $2 FROM generate_series(1, $1)', 'erp', [rows, tag]);

test('a data folder recovered to T has the rows before T and none after; it starts as the runbook says', async () => {
	await insert(40, 'before base');
	const base = await makePitrBase({ connection, environment: ENVIRONMENT, stagingFolder: staging, options, log });
	expect(base.manifest.engine).toBe('postgres-pitr');
	expect(base.manifest.pitr.kind).toBe('base');
	await insert(30, 'before T');
	await sleep(1500);
	const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
	await sleep(1500);
	await insert(20, 'after T');
	const chain = await newestChain(staging, ENVIRONMENT);
	const incremental = await makePitrIncremental({
		connection,
		environment: ENVIRONMENT,
		stagingFolder: staging,
		options,
		log,
		chain: chain!,
	});
	expect(incremental.manifest.parentBackupId).toBe(base.manifest.backupId);
	expect(incremental.manifest.baseBackupId).toBe(base.manifest.backupId);
	const full = await newestChain(staging, ENVIRONMENT);
	expect(full!.map((s) => s.backupId)).toEqual([base.manifest.backupId, incremental.manifest.backupId]);

	const data = join(root, 'restored');
	const result = await restoreToPointInTime({
		chain: full!,
		target: { time: target },
		dataFolder: data,
		log,
		recoveryTimeoutMs: 90_000,
	});
	expect(new Date(result.reachedTransactionTime!).getTime()).toBeLessThanOrEqual(target.getTime());
	expect(result.timeline).toBeGreaterThan(1);
	expect(result.runbook.join('\n')).toMatch(/pg_ctl start -D/);
	// Only the data folder: the work folder (WAL archive, socket) is gone.
	expect(readdirSync(root)).toEqual(['restored']);

	// Start it as the runbook says, on a private socket and another port (the source still runs).
	const socket = join(root, 'socket');
	mkdirSync(socket, { mode: 0o777 });
	chmodSync(socket, 0o777);
	const pgCtl = join(server.binDir, 'pg_ctl');
	const args = [
		'start',
		'-w',
		'-t',
		'90',
		'-D',
		data,
		'-l',
		join(socket, 'startup.log'),
		'-o',
		`-c port=5499 -c listen_addresses='' -c unix_socket_directories=${socket}`,
	];
	const run = (a: string[]) =>
		asPostgres() ? execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...a]) : execFileSync(pgCtl, a);
	run(args);
	try {
		const client = new Client({
			host: socket,
			port: 5499,
			user: server.user,
			password: server.password,
			database: 'erp',
		});
		await client.connect();
		try {
			const { rows } = await client.query<{ tag: string; n: string }>(
				'SELECT tag, count(*) AS n FROM t GROUP BY tag ORDER BY tag',
			);
			expect(rows.map((r) => `${r.tag}: ${r.n}`)).toEqual(['before T: 30', 'before base: 40']);
			await client.query("INSERT INTO t (tag) VALUES ('written after the restore')");
		} finally {
			await client.end();
		}
	} finally {
		run(['stop', '-w', '-t', '90', '-D', data, '-m', 'fast']);
	}
}, 300_000);

test('a folder that is not empty is refused before anything is written, a running cluster named as such', async () => {
	const chain = (await newestChain(staging, ENVIRONMENT))!;
	const busy = join(root, 'busy');
	mkdirSync(busy);
	writeFileSync(join(busy, 'keep.txt'), 'mine');
	const refused = (dataFolder: string) =>
		restoreToPointInTime({ chain, target: { end: true }, dataFolder, log }).then(
			() => new Error('expected a refusal'),
			(e: Error) => e,
		);
	const error = await refused(busy);
	expect(isBackupError(error) && error.code).toBe('INVALID_INPUT');
	expect(error.message).toContain('is not empty (keep.txt)');
	expect(readdirSync(busy)).toEqual(['keep.txt']);
	const running = await refused(server.dataDir);
	expect(running.message).toMatch(/a PostgreSQL cluster is running there/);
	expect((await server.admin<{ n: string }>('SELECT count(*) AS n FROM t', 'erp'))[0].n).toBe('90');
}, 120_000);
