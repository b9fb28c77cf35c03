/**
 * Point-in-time recovery against a real PostgreSQL 15 (its own server: WAL for replication,
 * slots): a base backup, WAL collected in two incremental runs while rows arrive in batches, a
 * time T recorded on the server's clock between two batches, then a restore test to T — rows
 * committed before T are there, rows after T are not — and one to the end of the chain.
 *
 * The batches are separated by 1.5 s around T so their commit times differ clearly even on a
 * loaded machine; everything else waits on conditions with bounded timeouts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { silentLogger } from '../../../core/logger';
import type { PostgresConnection } from '../../../core/sources/postgres';
import {
	checkChain,
	collectWal,
	defaultPitrOptions,
	preflight,
	releaseWal,
	restoreTestToPointInTime,
	slotReport,
	takeBaseBackup,
	verifyBaseBackup,
	type PitrSetRecord,
} from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';
import { pitrSet, scratchRoot, sleep } from './helpers';

const ENVIRONMENT = 'P12-pitr';
const DATABASE = 'protheus';
let server: PitrServer;
let connection: PostgresConnection;
let staging: string;
let scratch: string;
const chain: PitrSetRecord[] = [];

const options = { ...defaultPitrOptions, collectTimeoutMs: 90_000 };
const log = silentLogger;

async function insertBatch(batch: number, rows: number): Promise<void> {
	await server.admin(
		`INSERT INTO sc5010 (batch, c5_num, r_e_c_n_o_) SELECT $1, lpad(g::text, 6, '0'), $1 * 100000 + g FROM generate_series(1, $2) g`,
		DATABASE,
		[batch, rows],
	);
}

const serverNow = async () => (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;

beforeAll(async () => {
	server = await startPitrServer();
	await createRole(server, 'totvs_backup', 'backup-secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin(`CREATE DATABASE ${DATABASE}`);
	await server.admin(
		`CREATE TABLE sc5010 (batch int NOT NULL, c5_num char(6) NOT NULL, d_e_l_e_t_ char(1) NOT NULL DEFAULT ' ',
		                      r_e_c_n_o_ bigint PRIMARY KEY, r_e_c_d_e_l_ bigint NOT NULL DEFAULT 0);
		 CREATE TABLE top_field (field_table varchar(30), field_name varchar(30));
		 CREATE TABLE sys_company (m0_codigo char(2))`,
		DATABASE,
	);
	connection = {
		host: server.host,
		port: server.port,
		database: DATABASE,
		user: 'totvs_backup',
		password: 'backup-secret',
		sslMode: 'disable',
	};
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-sets-'));
	scratch = scratchRoot();
}, 120_000);

afterAll(async () => {
	await server?.stop();
	if (staging) rmSync(staging, { recursive: true, force: true });
	if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('pre-flight: a REPLICATION role on a replica-level server passes every check', async () => {
	const report = await preflight({ connection, environment: ENVIRONMENT, restoreTest: {} });
	expect(report.checks.filter((c) => !c.passed)).toEqual([]);
	expect(report.ok).toBe(true);
	expect(report.checks.map((c) => c.check)).toEqual(
		expect.arrayContaining(['server', 'client programs', 'replication connection', 'server programs']),
	);
	// The check created nothing on the server.
	expect(report.slot?.exists).toBe(false);
});

test('base backup, two incrementals, restore to a time between batches and to the end', async () => {
	await insertBatch(1, 1000);

	// Base backup (full).
	const baseSet = await BackupSetWriter.create(staging, ENVIRONMENT, 'full', 'database', new Date());
	const base = await takeBaseBackup({ connection, environment: ENVIRONMENT, set: baseSet, options, log });
	chain.push(pitrSet(baseSet, 'full', base));
	await releaseWal(connection, base.source.slotName, base.pitr.stopLsn);
	expect(base.source.slotName).toBe('totvs_p12_pitr');
	expect(base.pitr.timeline).toBe(1);
	expect(base.source.systemIdentifier).toMatch(/^\d+$/);
	expect(base.artifacts.map((a) => a.kind).sort()).toEqual([
		'pg_basebackup-base',
		'pg_basebackup-manifest',
		'pg_basebackup-wal',
	]);
	for (const a of base.artifacts) expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
	expect(base.inventory.tables.map((t) => t.name).sort()).toEqual(['sc5010', 'sys_company', 'top_field']);
	expect(base.inventory.tables.find((t) => t.name === 'sc5010')).toMatchObject({ rows: 1000, protheus: true });

	// Incremental 1: batch 2 (committed before T).
	await insertBatch(2, 500);
	const wal1Set = await BackupSetWriter.create(staging, ENVIRONMENT, 'incremental', 'database', new Date());
	const wal1 = await collectWal({
		connection,
		environment: ENVIRONMENT,
		set: wal1Set,
		options,
		log,
		previous: chain[0],
	});
	chain.push(pitrSet(wal1Set, 'incremental', wal1));
	await releaseWal(connection, wal1.source.slotName, wal1.pitr.endLsn);
	expect(wal1.pitr.previousEndLsn).toBe(base.pitr.stopLsn);
	expect(wal1.pitr.segments.length).toBeGreaterThan(0);
	expect(wal1.pitr.segments[wal1.pitr.segments.length - 1].partial).toBe(true);

	// T on the server's clock, with time on both sides so commit times separate clearly.
	await sleep(1500);
	const target = await serverNow();
	await sleep(1500);

	// Batch 3 after T, a segment switch (so complete segments appear), batch 4.
	await insertBatch(3, 700);
	await server.admin('SELECT pg_switch_wal()');
	await insertBatch(4, 300);
	const wal2Set = await BackupSetWriter.create(staging, ENVIRONMENT, 'incremental', 'database', new Date());
	const wal2 = await collectWal({
		connection,
		environment: ENVIRONMENT,
		set: wal2Set,
		options,
		log,
		previous: chain[1],
	});
	chain.push(pitrSet(wal2Set, 'incremental', wal2));
	const slot = await releaseWal(connection, wal2.source.slotName, wal2.pitr.endLsn);
	expect(wal2.pitr.segments.some((s) => !s.partial)).toBe(true);
	expect(slot.restartLsn).toBe(wal2.pitr.endLsn);

	// Continuity and the base's own verification.
	const report = await checkChain(chain, { hashes: true });
	expect(report.problems).toEqual([]);
	expect(report.ok).toBe(true);
	const verified = await verifyBaseBackup({ set: chain[0], scratchFolder: scratch, log });
	expect(verified.checks).toEqual([
		expect.objectContaining({ name: 'artifacts', passed: true }),
		expect.objectContaining({ name: 'pg_verifybackup', passed: true }),
	]);

	// Restore test to T: batches 1 and 2 only.
	const atT = await restoreTestToPointInTime({
		chain,
		target: { time: target },
		scratchFolder: scratch,
		countTables: [{ schema: 'public', name: 'sc5010' }],
		inspect: async (client) =>
			(
				await client.query<{ batch: number; n: string }>(
					'SELECT batch, count(*) AS n FROM sc5010 GROUP BY batch ORDER BY batch',
				)
			).rows.map((r) => [r.batch, Number(r.n)]),
		log,
	});
	expect(atT.checks.filter((c) => !c.passed)).toEqual([]);
	expect(atT.passed).toBe(true);
	expect(atT.inspected).toEqual([
		[1, 1000],
		[2, 500],
	]);
	expect(atT.counts).toEqual([{ schema: 'public', name: 'sc5010', rows: 1500 }]);
	expect(new Date(atT.reachedTransactionTime!).getTime()).toBeLessThanOrEqual(target.getTime());
	expect(atT.gapMs).toBeGreaterThanOrEqual(0);
	expect(atT.stoppedBefore).not.toBeNull();
	expect(new Date(atT.stoppedBefore!.time).getTime()).toBeGreaterThan(target.getTime());
	// The measured recovery point, for the closing note.
	console.log(
		`PITR restore test to T=${target.toISOString()}: last transaction reached ${atT.reachedTransactionTime} (gap ${atT.gapMs} ms), first one left out ${atT.stoppedBefore?.time}; RTO ${atT.rtoMs} ms`,
	);

	// Restore test to the end of the newest set: every batch.
	const atEnd = await restoreTestToPointInTime({
		chain,
		target: { end: true },
		scratchFolder: scratch,
		countTables: [{ schema: 'public', name: 'sc5010' }],
		log,
	});
	if (!atEnd.passed) console.log(atEnd.serverLog);
	expect(atEnd.checks.filter((c) => !c.passed)).toEqual([]);
	expect(atEnd.counts[0].rows).toBe(2500);

	// Slot safety is reported, and nothing is left in the scratch folder.
	const state = await slotReport(connection, base.source.slotName);
	expect(state).toMatchObject({ exists: true, warning: null });
	expect(state.retainedBytes).toBeGreaterThanOrEqual(0);
	expect(readdirSync(scratch)).toEqual([]);
}, 240_000);
