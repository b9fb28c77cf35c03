/**
 * How a point-in-time chain breaks, against a real PostgreSQL 15: a WAL segment missing or
 * damaged in a set, and WAL missing on the server (the slot re-created after the WAL moved
 * on). Each is refused with the segment named and "start a new base backup"; a new base then
 * starts a good chain. Also the slot's safety: retained bytes and the warning, and dropping it.
 */
import { copyFileSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { isBackupError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import type { PostgresConnection } from '../../../core/sources/postgres';
import {
	checkChain,
	collectWal,
	defaultPitrOptions,
	dropSlot,
	releaseWal,
	requireChain,
	restoreTestToPointInTime,
	slotReport,
	takeBaseBackup,
	type PitrSetRecord,
	type PitrWalSection,
} from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';
import { pitrSet, scratchRoot } from './helpers';

const ENVIRONMENT = 'breaks';
let server: PitrServer;
let connection: PostgresConnection;
let staging: string;
let scratch: string;
const chain: PitrSetRecord[] = [];
const options = { ...defaultPitrOptions, collectTimeoutMs: 90_000 };
const log = silentLogger;

const insert = (rows: number) =>
	server.admin('INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, $1) g', 'erp', [rows]);

async function base(): Promise<PitrSetRecord> {
	const set = await BackupSetWriter.create(staging, ENVIRONMENT, 'full', 'database', new Date());
	const outcome = await takeBaseBackup({ connection, environment: ENVIRONMENT, set, options, log });
	await releaseWal(connection, outcome.source.slotName, outcome.pitr.stopLsn);
	return pitrSet(set, 'full', outcome);
}

async function incremental(previous: PitrSetRecord): Promise<PitrSetRecord> {
	const set = await BackupSetWriter.create(staging, ENVIRONMENT, 'incremental', 'database', new Date());
	const outcome = await collectWal({ connection, environment: ENVIRONMENT, set, options, log, previous });
	await releaseWal(connection, outcome.source.slotName, outcome.pitr.endLsn);
	return pitrSet(set, 'incremental', outcome);
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; hint?: string }> {
	try {
		await promise;
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected a rejection');
}

beforeAll(async () => {
	server = await startPitrServer();
	await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin('CREATE DATABASE erp');
	await server.admin('CREATE TABLE t (id serial PRIMARY KEY, v text)', 'erp');
	connection = {
		host: server.host,
		port: server.port,
		database: 'erp',
		user: 'backup',
		password: 'secret',
		sslMode: 'disable',
	};
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-breaks-'));
	scratch = scratchRoot();

	await insert(100);
	chain.push(await base());
	await insert(100);
	// Two segment switches: the first WAL set holds complete segments before its partial one.
	await server.admin('SELECT pg_switch_wal()');
	await insert(100);
	await server.admin('SELECT pg_switch_wal()');
	await insert(100);
	chain.push(await incremental(chain[0]));
	await insert(100);
	chain.push(await incremental(chain[1]));
}, 120_000);

afterAll(async () => {
	await server?.stop();
	if (staging) rmSync(staging, { recursive: true, force: true });
	if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('an intact chain passes the continuity check', async () => {
	const report = await checkChain(chain, { hashes: true });
	expect(report.problems).toEqual([]);
	expect(report.segments).toBeGreaterThanOrEqual(4);
});

test('a missing WAL segment breaks the chain: the segment is named, the restore test refuses before restoring', async () => {
	const wal = chain[1].pitr as PitrWalSection;
	const complete = wal.segments.find((s) => !s.partial)!;
	const file = join(chain[1].folder, ...complete.path.split('/'));
	renameSync(file, `${file}.away`);
	try {
		const report = await checkChain(chain, { hashes: false });
		expect(report.ok).toBe(false);
		expect(report.problems[0]).toContain(`WAL segment ${complete.name}`);
		expect(report.problems[0]).toContain('is missing');

		const error = await rejection(requireChain(chain, { hashes: false }));
		expect(isBackupError(error) && error.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(error.message).toContain(complete.name);
		expect(error.hint).toMatch(/start a new base backup/i);

		const refused = await rejection(
			restoreTestToPointInTime({ chain, target: { end: true }, scratchFolder: scratch, log }),
		);
		expect(isBackupError(refused) && refused.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(refused.message).toContain(complete.name);
		expect(readdirSync(scratch)).toEqual([]);
	} finally {
		renameSync(`${file}.away`, file);
	}
});

test('a damaged WAL segment (same size, other bytes) fails its SHA-256', async () => {
	const wal = chain[2].pitr as PitrWalSection;
	const segment = wal.segments[0];
	const file = join(chain[2].folder, ...segment.path.split('/'));
	copyFileSync(file, `${file}.good`);
	try {
		const bytes = readFileSync(file);
		bytes[bytes.length >> 1] ^= 0xff;
		writeFileSync(file, bytes);
		expect((await checkChain(chain, { hashes: false })).ok).toBe(true); // same size
		const report = await checkChain(chain, { hashes: true });
		expect(report.problems).toEqual([expect.stringContaining(`WAL segment ${segment.name}`)]);
		expect(report.problems[0]).toContain('SHA-256');
	} finally {
		renameSync(`${file}.good`, file);
	}
});

test('WAL gone from the server (slot re-created after a checkpoint) is refused when collecting; a new base starts a good chain', async () => {
	const slotName = chain[0].source.slotName;
	expect(await dropSlot(connection, slotName)).toEqual({ dropped: true });
	expect(await dropSlot(connection, slotName)).toEqual({ dropped: false });
	await insert(100);
	await server.admin('SELECT pg_switch_wal()');
	await insert(100);
	// A checkpoint moves the redo point on: a slot created now reserves WAL from here only
	// (the server recycles the segments the chain still needed).
	await server.admin('CHECKPOINT');
	await server.admin(`SELECT pg_create_physical_replication_slot('${slotName}', true)`);

	const set = await BackupSetWriter.create(staging, ENVIRONMENT, 'incremental', 'database', new Date());
	const error = await rejection(
		collectWal({ connection, environment: ENVIRONMENT, set, options, log, previous: chain[2] }),
	);
	await set.abort();
	expect(isBackupError(error) && error.code).toBe('BACKUP_CHAIN_BROKEN');
	expect(error.message).toMatch(/WAL segment [0-9A-F]{24} is missing/);
	expect(error.hint).toMatch(/start a new base backup/i);

	// The next run starts a new chain, which is intact.
	const fresh = [await base()];
	await insert(10);
	fresh.push(await incremental(fresh[0]));
	expect((await checkChain(fresh, { hashes: true })).problems).toEqual([]);
});

test('slot safety: retained WAL is reported every run and warned about above the threshold', async () => {
	const slotName = chain[0].source.slotName;
	await insert(2000);
	const report = await slotReport(connection, slotName, 1024);
	expect(report.exists).toBe(true);
	expect(report.retainedBytes).toBeGreaterThan(1024);
	expect(report.warning).toMatch(/keeps .* GiB of WAL on the database server/);
	expect((await slotReport(connection, slotName)).warning).toBeNull();
	expect(await dropSlot(connection, slotName)).toEqual({ dropped: true });
	expect((await slotReport(connection, slotName)).exists).toBe(false);
});
