/**
 * The continuity rules of a point-in-time chain, on hand-made sets whose files exist with the
 * recorded sizes and hashes (the real-server tests make real ones).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBackupError } from '../../../core/errors';
import {
	baseWalEnd,
	bestSegments,
	checkChain,
	requireChain,
	segmentsOf,
} from '../../../core/sources/postgres-pitr/chain';
import type { PitrSegment, PitrSetRecord, PitrSourceFacts } from '../../../core/sources/postgres-pitr/manifest';
import { setsFor } from '../../../core/sources/postgres-pitr/restore-test';

const MB16 = 16 * 1024 * 1024;
let root: string;

const source: PitrSourceFacts = {
	host: 'db',
	port: 5432,
	database: 'protheus',
	user: 'backup',
	serverVersion: '15.14',
	serverVersionNum: 150014,
	systemIdentifier: '7715832534193171628',
	walSegmentBytes: MB16,
	encoding: 'WIN1252',
	collation: 'C',
	ctype: 'C',
	extensions: [],
	databaseBytes: 1,
	bootstrapSuperuser: 'postgres',
	slotName: 'totvs_prod',
	clientVersion: 'pg_receivewal 15.14',
};

function file(folder: string, path: string, text: string, kind: string) {
	mkdirSync(join(folder, ...path.split('/').slice(0, -1)), { recursive: true });
	writeFileSync(join(folder, ...path.split('/')), text);
	return { path, kind, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') };
}

function baseSet(id: string, stopLsn: string, stoppedAt: string): PitrSetRecord {
	const folder = join(root, id);
	return {
		backupId: id,
		folder,
		type: 'full',
		source,
		artifacts: [file(folder, 'base/base.tar.gz', `base ${id}`, 'pg_basebackup-base')],
		pitr: {
			kind: 'base',
			timeline: 1,
			startLsn: '0/2000028',
			stopLsn,
			startedAt: stoppedAt,
			stoppedAt,
			label: id,
			backupManifest: 'base/backup_manifest',
			baseArchive: 'base/base.tar.gz',
			walArchive: 'base/pg_wal.tar.gz',
			tablespaces: [],
			compression: { method: 'gzip', level: null, where: 'client' },
			dataBytes: 1,
		},
	};
}

/** A WAL set with the segments of its range, the last one partial unless the end is on a boundary. */
function walSet(
	id: string,
	previous: PitrSetRecord,
	startLsn: string,
	endLsn: string,
	endTime: string,
	timeline = 1,
): PitrSetRecord {
	const folder = join(root, id);
	const names = segmentsOf(timeline, startLsn, endLsn, MB16);
	const artifacts = [];
	const segments: PitrSegment[] = [];
	const onBoundary = BigInt(`0x${endLsn.split('/')[1]}`) % BigInt(MB16) === 0n;
	for (const [i, name] of names.entries()) {
		const partial = i === names.length - 1 && !onBoundary;
		const path = `wal/${name}.gz${partial ? '.partial' : ''}`;
		artifacts.push(file(folder, path, `${id} ${name}`, partial ? 'wal-partial' : 'wal-segment'));
		segments.push({ name, path, partial, compression: 'gzip' });
	}
	const previousEnd = previous.pitr.kind === 'base' ? previous.pitr.stopLsn : previous.pitr.endLsn;
	return {
		backupId: id,
		folder,
		type: 'incremental',
		source,
		artifacts,
		pitr: {
			kind: 'wal',
			timeline,
			startLsn,
			endLsn,
			endTime,
			previousEndLsn: previousEnd,
			previousBackupId: previous.backupId,
			segments,
			historyFiles: [],
		},
	};
}

let chain: PitrSetRecord[];

beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'pitr-chain-unit-'));
	const base = baseSet('prod-1-full', '0/2000100', '2026-05-04T10:00:00.000Z');
	const wal1 = walSet('prod-2-incr', base, '0/2000000', '0/3014000', '2026-05-04T10:05:00.000Z');
	const wal2 = walSet('prod-3-incr', wal1, '0/3000000', '0/5000000', '2026-05-04T10:10:00.000Z');
	const wal3 = walSet('prod-4-incr', wal2, '0/5000000', '0/500A000', '2026-05-04T10:15:00.000Z');
	chain = [base, wal1, wal2, wal3];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('an intact chain: contiguous, one timeline, every file present with its hash', async () => {
	const report = await checkChain(chain, { hashes: true });
	expect(report.problems).toEqual([]);
	expect(report).toMatchObject({
		ok: true,
		timeline: 1,
		from: { lsn: '0/2000100', time: '2026-05-04T10:00:00.000Z' },
		to: { lsn: '0/500A000', time: '2026-05-04T10:15:00.000Z' },
		segments: 2 + 2 + 1,
	});
});

test('segments of a range: an end on a segment boundary does not need the next segment', () => {
	expect(segmentsOf(1, '0/3000000', '0/5000000', MB16)).toEqual([
		'000000010000000000000003',
		'000000010000000000000004',
	]);
	expect(segmentsOf(1, '0/3000000', '0/5000001', MB16)).toHaveLength(3);
});

test('a gap between sets names the first missing segment and asks for a new base', async () => {
	chain[2] = walSet('prod-3-incr', chain[1], '0/4000000', '0/5000000', '2026-05-04T10:10:00.000Z');
	const report = await checkChain(chain, { hashes: false });
	expect(report.problems[0]).toBe(
		'WAL segment 000000010000000000000003 is missing: prod-2-incr ends at 0/3014000 and prod-3-incr starts at 0/4000000',
	);
	let error: unknown;
	try {
		await requireChain(chain, { hashes: false });
	} catch (e) {
		error = e;
	}
	expect(isBackupError(error) && error.code).toBe('BACKUP_CHAIN_BROKEN');
	expect(isBackupError(error) && error.hint).toMatch(/Start a new base backup/);
});

test('a segment dropped from a set record, or partial before the last, is reported', async () => {
	const wal2 = chain[2].pitr;
	if (wal2.kind !== 'wal') throw new Error('not a WAL set');
	wal2.segments.splice(0, 1);
	expect((await checkChain(chain, { hashes: false })).problems).toEqual([
		'WAL segment 000000010000000000000003 is missing from prod-3-incr',
	]);
	wal2.segments.unshift({ name: '000000010000000000000003', path: 'x', partial: true, compression: 'gzip' });
	expect((await checkChain(chain, { hashes: false })).problems).toEqual([
		"WAL segment 000000010000000000000003 of prod-3-incr is partial but not the set's last",
	]);
});

test('another cluster, another timeline, a set left out, or no base: each is named', async () => {
	const other = { ...chain[3], source: { ...source, systemIdentifier: '1' } };
	expect((await checkChain([...chain.slice(0, 3), other], { hashes: false })).problems[0]).toContain('another cluster');
	const tl2 = walSet('prod-4-incr', chain[2], '0/5000000', '0/500A000', '2026-05-04T10:15:00.000Z', 2);
	expect((await checkChain([...chain.slice(0, 3), tl2], { hashes: false })).problems[0]).toBe(
		'prod-4-incr is on timeline 2, the chain on timeline 1',
	);
	// wal3 starts where wal2 ended, so without wal2 it starts after wal1's end: the gap is reported first.
	expect((await checkChain([chain[0], chain[1], chain[3]], { hashes: false })).problems[0]).toMatch(
		/WAL segment .* is missing/,
	);
	expect((await checkChain(chain.slice(1), { hashes: false })).problems[0]).toContain('starts with a base backup');
});

test('a file missing or damaged is named by its segment', async () => {
	rmSync(join(chain[1].folder, 'wal', '000000010000000000000002.gz'));
	writeFileSync(
		join(chain[3].folder, 'wal', '000000010000000000000005.gz.partial'),
		'prod-4-incr 00000001000000000000000X',
	);
	const report = await checkChain(chain, { hashes: true });
	expect(report.problems).toEqual([
		expect.stringMatching(/^WAL segment 000000010000000000000002 \(prod-2-incr\) is missing/),
		'WAL segment 000000010000000000000005 (prod-4-incr) does not match its SHA-256: it is damaged',
	]);
});

test('a restore uses the most complete copy of each segment', () => {
	const chosen = bestSegments(chain);
	expect(chosen.map((c) => [c.name, c.set.backupId, c.segment.partial])).toEqual([
		['000000010000000000000002', 'prod-2-incr', false],
		['000000010000000000000003', 'prod-3-incr', false], // complete in wal2, partial in wal1
		['000000010000000000000004', 'prod-3-incr', false],
		['000000010000000000000005', 'prod-4-incr', true],
	]);
});

test('a target outside the chain is refused with the range it covers; inside, only the sets needed are used', () => {
	const refused = (time: string) => {
		try {
			setsFor(chain, { time: new Date(time) });
		} catch (error) {
			return error as Error & { code: string };
		}
		throw new Error('expected a refusal');
	};
	expect(refused('2026-05-04T09:59:59Z').message).toContain('before the end of base backup prod-1-full');
	expect(refused('2026-05-04T10:15:01Z').message).toContain('after the newest set of the chain (prod-4-incr');
	expect(refused('2026-05-04T10:15:01Z').message).toContain(
		'restores from 2026-05-04T10:00:00.000Z to 2026-05-04T10:15:00.000Z',
	);
	expect(refused('2026-05-04T10:15:01Z').code).toBe('INVALID_INPUT');
	// 10:03 lies in wal1: wal1 and one more set (the first commit after the target may be there).
	expect(setsFor(chain, { time: new Date('2026-05-04T10:03:00Z') }).map((s) => s.backupId)).toEqual([
		'prod-1-full',
		'prod-2-incr',
		'prod-3-incr',
	]);
	expect(setsFor(chain, { end: true })).toHaveLength(4);
});

test('a base whose WAL stream received past its stop position: the next WAL set may start at the next segment', async () => {
	// pg_basebackup's WAL stream can receive the segment switch after the backup's end and report
	// it to the slot, which then keeps WAL from the next segment only (seen intermittently under load).
	const base = baseSet('prod-1-full', '0/2000138', '2026-05-04T10:00:00.000Z');
	const next = walSet('prod-2-incr', base, '0/3000000', '0/3014000', '2026-05-04T10:05:00.000Z');
	expect((await checkChain([base, next], { hashes: false })).problems[0]).toMatch(
		/000000010000000000000002 is missing/,
	);
	if (base.pitr.kind !== 'base') throw new Error('not a base');
	base.pitr.walEndLsn = baseWalEnd('0/2000138', '0/3000000', MB16);
	expect(base.pitr.walEndLsn).toBe('0/3000000');
	expect((await checkChain([base, next], { hashes: false })).problems).toEqual([]);
});

test("a base's WAL end: the slot's position once the backup ended, never before the stop position nor past its segment", () => {
	expect(baseWalEnd('0/2000138', '0/2000000', MB16)).toBe('0/2000138');
	expect(baseWalEnd('0/2000138', '0/2000138', MB16)).toBe('0/2000138');
	expect(baseWalEnd('0/2000138', '0/2FF0000', MB16)).toBe('0/2FF0000');
	expect(baseWalEnd('0/2000138', '0/3000000', MB16)).toBe('0/3000000');
	// Past the stop segment: only what pg_wal.tar surely holds.
	expect(baseWalEnd('0/2000138', '0/3000100', MB16)).toBe('0/3000000');
	expect(baseWalEnd('0/2000138', null, MB16)).toBe('0/2000138');
});
