/**
 * The Monitor's cost on a destination holding 1,000 sets, counted (not timed) through a proxy
 * over every Destination call: it reads manifests, restore-test records and the lock only,
 * never an artifact, writes nothing, and its request count grows by a small constant per set
 * (the catalog's listing of each set folder and its manifest), plus a constant per environment.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBackupId } from '../../../core/backup-set/ids';
import { MANIFEST_FILE, serializeManifest } from '../../../core/backup-set/manifest';
import { openDestination, type Destination } from '../../../core/destinations';
import { lockPath } from '../../../core/locking/environment-lock';
import { DEFAULT_THRESHOLDS, evaluateMonitor, readDestination } from '../../../core/monitor';
import { writeRestoreRecord } from '../../../core/restore-record';
import { sampleManifest } from '../../fixtures/manifest';

const DAY = 24 * 3600_000;
const RECORDS = 30;

/** Writes `count` daily full sets (real manifests, a 10-byte artifact each) straight into a local root. */
function writeSets(root: string, count: number, newest: Date): string[] {
	const ids: string[] = [];
	for (let i = count - 1; i >= 0; i--) {
		const at = new Date(newest.getTime() - i * DAY);
		const backupId = makeBackupId('prod', 'full', 'database', at);
		const folder = join(root, 'prod', backupId);
		mkdirSync(folder, { recursive: true });
		writeFileSync(join(folder, 'protheus.dump'), Buffer.alloc(10, 1));
		writeFileSync(
			join(folder, MANIFEST_FILE),
			serializeManifest(
				sampleManifest({
					backupId,
					startedAt: at.toISOString(),
					finishedAt: at.toISOString(),
					artifacts: [{ path: 'protheus.dump', bytes: 10, sha256: 'a'.repeat(64), kind: 'pg_dump-custom' }],
				}),
			),
		);
		ids.push(backupId);
	}
	return ids;
}

/** Counts every call made on the Destination interface, by method, with the paths read. */
function counting(target: Destination) {
	const calls: Record<string, number> = {};
	const reads: string[] = [];
	const destination = new Proxy(target, {
		get(object, property, receiver) {
			const value = Reflect.get(object, property, receiver);
			if (typeof value !== 'function' || property === 'describe') return value;
			return (...args: unknown[]) => {
				calls[String(property)] = (calls[String(property)] ?? 0) + 1;
				if (property === 'readSmallFile') reads.push(String(args[0]));
				if (property === 'stat' && (args[1] as { withHash?: boolean } | undefined)?.withHash)
					throw new Error('the Monitor must never hash a file remotely');
				return value.apply(object, args);
			};
		},
	}) as Destination;
	return { destination, calls, reads, total: () => Object.values(calls).reduce((a, b) => a + b, 0) };
}

describe('TOTVS Monitor request count', () => {
	const roots: string[] = [];
	const newest = new Date(Date.UTC(2026, 10, 26, 2));
	const now = new Date(newest.getTime() + 3600_000);
	afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

	async function measure(sets: number) {
		const root = mkdtempSync(join(tmpdir(), 'totvs-monitor-count-'));
		roots.push(root);
		const ids = writeSets(root, sets, newest);
		const writer = openDestination({ type: 'local', folder: root });
		for (let i = 0; i < RECORDS; i++)
			await writeRestoreRecord(writer, {
				environment: 'prod',
				testedId: ids[ids.length - 1 - (i % ids.length)],
				passed: true,
				startedAt: new Date(now.getTime() - (i + 1) * DAY - 600_000),
				finishedAt: new Date(now.getTime() - (i + 1) * DAY),
				restoreMs: 60_000 + i,
				restoredBytes: 1,
				checks: [],
				restoreServer: { engine: 'postgres' },
			});
		writeFileSync(join(root, lockPath('prod')), '{"format":1}');
		const { destination, calls, reads, total } = counting(openDestination({ type: 'local', folder: root }));
		const reading = await readDestination(destination);
		return { reading, calls, reads, total: total() };
	}

	it('1,000 sets: manifests, the newest records and the lock are read, never an artifact; nothing is written', async () => {
		const { reading, calls, reads, total } = await measure(1000);
		console.log(`TOTVS Monitor, 1000 sets and ${RECORDS} records: ${total} Destination calls ${JSON.stringify(calls)}`);
		expect(reading.error).toBeUndefined();
		expect(reading.environments).toHaveLength(1);
		expect(reading.environments[0].sets).toHaveLength(1000);
		expect(reading.environments[0].restoreTests).toHaveLength(RECORDS);
		// Read-only: no call that writes, deletes or downloads.
		for (const method of ['put', 'get', 'remove', 'removeFolder', 'createExclusive'])
			expect({ method, calls: calls[method] ?? 0 }).toEqual({ method, calls: 0 });
		// What was read: the 1,000 manifests, the newest `trendLength` records, the lock. No artifact.
		const records = reads.filter((p) => p.includes('.restore-test-'));
		expect(reads.filter((p) => p.endsWith(`/${MANIFEST_FILE}`))).toHaveLength(1000);
		expect(records).toHaveLength(DEFAULT_THRESHOLDS.trendLength);
		expect(reads.filter((p) => p === lockPath('prod'))).toHaveLength(1);
		expect(reads).toHaveLength(1000 + DEFAULT_THRESHOLDS.trendLength + 1);
		// Bounded: two requests per set (its folder listing, its manifest) plus a constant.
		expect(total).toBeLessThanOrEqual(2 * 1000 + 20);
		expect(reading.requests).toBe(total);
		// And the result is usable: the newest full, the records.
		const [result] = evaluateMonitor({ destinations: [{ ...reading, destination: 'local' }], now });
		expect(result.figures.newest[0]).toMatchObject({ ageSeconds: 3600, type: 'full' });
		expect(result.figures.restoreTests).toMatchObject({ count: RECORDS });
		expect(result.figures.restoreTests.rto.samples).toHaveLength(DEFAULT_THRESHOLDS.trendLength);
		expect(result.reasons.map((r) => r.code)).toEqual(['unreadable-lock']);
	}, 300_000);

	it('grows by at most two requests per added set, whatever the number of records', async () => {
		const small = await measure(100);
		const large = await measure(1000);
		console.log(`TOTVS Monitor: 100 sets ${small.total} calls, 1000 sets ${large.total} calls`);
		expect(large.total - small.total).toBeLessThanOrEqual(2 * 900);
		expect(small.reads.filter((p) => p.includes('.restore-test-'))).toHaveLength(DEFAULT_THRESHOLDS.trendLength);
	}, 300_000);
});
