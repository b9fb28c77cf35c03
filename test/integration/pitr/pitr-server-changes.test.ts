/**
 * What happens to a point-in-time chain when the server changes under it, against a real
 * PostgreSQL 15: a restart keeps the timeline and the slot, so the chain continues (and a
 * restore to its end holds the rows written after the restart); a timeline switch (what a
 * failover or an in-place point-in-time recovery does) is refused with the timelines named,
 * and a new base on the new timeline starts a chain that continues.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
	releaseWal,
	restoreTestToPointInTime,
	takeBaseBackup,
	type PitrSetRecord,
} from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';
import { pitrSet, scratchRoot, sleep } from './helpers';
import type { Client } from 'pg';

const ENVIRONMENT = 'changes';
let server: PitrServer;
let connection: PostgresConnection;
let staging: string;
let scratch: string;
// The engine's own bounds fire well before jest's: a hang is a TIMEOUT naming what hung, not a
// silent test timeout. The tests' budget is larger than jest's default since, on a loaded CI
// machine (2 cores, the whole suite at once), three restores take over a minute.
const options = { ...defaultPitrOptions, collectTimeoutMs: 90_000 };
const recoveryTimeoutMs = 90_000;
const TEST_MS = 300_000;
const log = silentLogger;

const insert = (rows: number, tag: string) =>
	server.admin('INSERT INTO t (tag) SELECT $2 FROM generate_series(1, $1)', 'erp', [rows, tag]);

async function base(): Promise<PitrSetRecord> {
	const set = await BackupSetWriter.create(staging, ENVIRONMENT, 'full', 'database', new Date());
	const outcome = await takeBaseBackup({ connection, environment: ENVIRONMENT, set, options, log });
	await releaseWal(connection, outcome.source.slotName, outcome.pitr.stopLsn);
	return pitrSet(set, 'full', outcome);
}

async function incremental(previous: PitrSetRecord): Promise<PitrSetRecord> {
	const set = await BackupSetWriter.create(staging, ENVIRONMENT, 'incremental', 'database', new Date());
	try {
		const outcome = await collectWal({ connection, environment: ENVIRONMENT, set, options, log, previous });
		await releaseWal(connection, outcome.source.slotName, outcome.pitr.endLsn);
		return pitrSet(set, 'incremental', outcome);
	} catch (error) {
		await set.abort();
		throw error;
	}
}

beforeAll(async () => {
	// No autovacuum: the test of a target after the last commit needs a server that commits nothing by itself.
	server = await startPitrServer({ settings: { autovacuum: 'off' } });
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
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-changes-'));
	scratch = scratchRoot();
}, 120_000);

afterAll(async () => {
	await server?.stop();
	if (staging) rmSync(staging, { recursive: true, force: true });
	if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test(
	`a restarted server continues the chain; a restore to its end has the rows written after the restart`,
	async () => {
		await insert(100, 'before');
		const chain = [await base()];
		await insert(100, 'first run');
		chain.push(await incremental(chain[0]));
		await server.restart();
		await insert(100, 'after restart');
		chain.push(await incremental(chain[1]));
		expect(chain[2].pitr.timeline).toBe(1);
		expect((await checkChain(chain, { hashes: true })).problems).toEqual([]);

		const restored = await restoreTestToPointInTime({
			chain,
			target: { end: true },
			scratchFolder: scratch,
			recoveryTimeoutMs,
			inspect: async (client) =>
				(
					await client.query<{ tag: string; n: string }>('SELECT tag, count(*) AS n FROM t GROUP BY tag ORDER BY tag')
				).rows.map((r) => `${r.tag}: ${r.n}`),
			log,
		});
		expect(restored.checks.filter((c) => !c.passed)).toEqual([]);
		expect(restored.inspected).toEqual(['after restart: 100', 'before: 100', 'first run: 100']);
	},
	TEST_MS,
);

test(
	`a target after the last commit: recovery ends with the state at the target, also when no commit follows in the WAL`,
	async () => {
		await insert(50, 'before target');
		const chain = [await base()];
		await insert(25, 'after base');
		await sleep(1500);
		const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
		await sleep(500);
		chain.push(await incremental(chain[0]));
		const tagged = async (client: Client) =>
			(
				await client.query<{ tag: string; n: string }>('SELECT tag, count(*) AS n FROM t GROUP BY tag ORDER BY tag')
			).rows
				.filter((r) => r.tag === 'before target' || r.tag === 'after base')
				.map((r) => `${r.tag}: ${r.n}`);

		// Inside the incremental: the run's own end marker commits after the target, or the WAL ends first.
		const restored = await restoreTestToPointInTime({
			chain,
			target: { time: target },
			scratchFolder: scratch,
			recoveryTimeoutMs,
			inspect: tagged,
			log,
		});
		expect(restored.checks.filter((c) => !c.passed)).toEqual([]);
		expect(restored.inspected).toEqual(['after base: 25', 'before target: 50']);
		expect(new Date(restored.reachedTransactionTime!).getTime()).toBeLessThanOrEqual(target.getTime());
		expect(Boolean(restored.note) !== Boolean(restored.stoppedBefore)).toBe(true);

		// The base alone, to the time it ended: its WAL holds no commit after that time, so
		// PostgreSQL ends recovery without reaching the target, and the test recovers to the end.
		const baseEnd = new Date(chain[0].pitr.kind === 'base' ? chain[0].pitr.stoppedAt : '');
		const fromBase = await restoreTestToPointInTime({
			chain: [chain[0]],
			target: { time: baseEnd },
			scratchFolder: scratch,
			recoveryTimeoutMs,
			inspect: tagged,
			log,
		});
		expect(fromBase.note).toMatch(/No transaction committed after the target/);
		expect(fromBase.checks.filter((c) => !c.passed)).toEqual([]);
		expect(fromBase.inspected).toEqual(['before target: 50']);

		// A check that throws: the scratch server is stopped and its folder removed all the same.
		const failing = restoreTestToPointInTime({
			chain,
			target: { end: true },
			scratchFolder: scratch,
			recoveryTimeoutMs,
			inspect: async () => {
				throw new Error('a check blew up');
			},
			log,
		});
		await expect(failing).rejects.toThrow('a check blew up');
		expect(readdirSync(scratch)).toEqual([]);
		const postgresUsingScratch = readdirSync('/proc')
			.filter((pid) => /^\d+$/.test(pid))
			.filter((pid) => {
				try {
					// The scratch server (runuser, postmaster); its watchdog is told to stop and may take a moment.
					const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
					return cmdline.includes(scratch) && !cmdline.includes('totvs-pitr-watchdog');
				} catch {
					return false;
				}
			});
		expect(postgresUsingScratch).toEqual([]);
	},
	TEST_MS,
);

test('a timeline switch is refused clearly; a new base on the new timeline starts a chain that continues', async () => {
	await insert(10, 'old timeline');
	const old = [await base()];
	await insert(10, 'old timeline');
	old.push(await incremental(old[0]));

	const timeline = await server.switchTimeline();
	expect(timeline).toBe(old[0].pitr.timeline + 1);
	await insert(10, 'new timeline');

	const error = await incremental(old[1]).then(
		() => new Error('expected a refusal'),
		(e: Error & { code?: string; hint?: string }) => e,
	);
	expect(isBackupError(error) && error.code).toBe('BACKUP_CHAIN_BROKEN');
	expect(error.message).toContain(`timeline ${timeline}`);
	expect(error.message).toContain(`timeline ${old[0].pitr.timeline}`);
	expect((error as { hint?: string }).hint).toMatch(/start a new base backup/i);

	const fresh = [await base()];
	expect(fresh[0].pitr.timeline).toBe(timeline);
	await insert(10, 'new timeline');
	fresh.push(await incremental(fresh[0]));
	expect((await checkChain(fresh, { hashes: true })).problems).toEqual([]);
	// The two chains do not mix.
	expect((await checkChain([...old, fresh[1]], { hashes: false })).problems[0]).toMatch(/timeline/);
}, 120_000);
