import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError, systemErrorCode } from '../../errors';
import { hashFile } from '../../pipeline/hashing';
import { formatLsn, parseLsn, segmentName, segmentOf, segmentStart } from './lsn';
import type { PitrSegment, PitrSetRecord } from './manifest';

/** Where a set's WAL ends: the base's stop position, or the WAL set's end position. */
export function chainEnd(set: PitrSetRecord): string {
	return set.pitr.kind === 'base' ? set.pitr.stopLsn : set.pitr.endLsn;
}

/**
 * Where the next set of the chain may start at the latest: a WAL set's end, or for a base the
 * end of the WAL its pg_wal archive holds (walEndLsn, at least its stop position).
 */
export function continuesFrom(set: PitrSetRecord): string {
	return set.pitr.kind === 'base' ? (set.pitr.walEndLsn ?? set.pitr.stopLsn) : set.pitr.endLsn;
}

/**
 * The end of the WAL a base backup's pg_wal archive holds. pg_basebackup's WAL stream stops once
 * it received the stop position, but may have received more (the segment switch that ends the
 * backup) and reported it to the slot, which then keeps WAL only from there: everything before
 * the slot's position once the backup ended was received, so it is in pg_wal.tar. Never before
 * the stop position, never past the end of the stop position's segment.
 */
export function baseWalEnd(stopLsn: string, slotRestartLsn: string | null, segmentBytes: number): string {
	const stop = parseLsn(stopLsn);
	if (!slotRestartLsn) return formatLsn(stop);
	const restart = parseLsn(slotRestartLsn);
	const segmentEnd = segmentStart(stop, segmentBytes) + BigInt(segmentBytes);
	if (restart <= stop) return formatLsn(stop);
	return formatLsn(restart < segmentEnd ? restart : segmentEnd);
}

/** Server time up to which a set can restore (approximately, for a WAL set: see PitrWalSection.endTime). */
export function chainEndTime(set: PitrSetRecord): string {
	return set.pitr.kind === 'base' ? set.pitr.stoppedAt : set.pitr.endTime;
}

export interface ChainReport {
	ok: boolean;
	/** One sentence per problem, the first one being the break a user has to act on. */
	problems: string[];
	timeline: number | null;
	/** Recoverable range: from the base's end to the newest set's end (LSN and server time). */
	from: { lsn: string; time: string } | null;
	to: { lsn: string; time: string } | null;
	segments: number;
	/** Artifacts whose size and SHA-256 were checked (0 when hashes were not asked for). */
	hashedArtifacts: number;
}

export interface ChainCheckOptions {
	/** Also read every artifact and compare its SHA-256 (else: present with the recorded size). */
	hashes: boolean;
}

/**
 * Continuity of a chain, base first: one cluster, one timeline, each WAL set starting at or
 * before the end of the set before it, every segment of each set's range present (only the
 * last one may be partial), and every artifact present with its recorded size (and SHA-256).
 */
export async function checkChain(sets: PitrSetRecord[], options: ChainCheckOptions): Promise<ChainReport> {
	const problems: string[] = [];
	const report: ChainReport = {
		ok: false,
		problems,
		timeline: null,
		from: null,
		to: null,
		segments: 0,
		hashedArtifacts: 0,
	};
	const base = sets[0];
	if (!base || base.pitr.kind !== 'base') {
		problems.push(
			`A point-in-time chain starts with a base backup; ${base ? `${base.backupId} is a WAL set` : 'no set was given'}`,
		);
		return report;
	}
	report.timeline = base.pitr.timeline;
	report.from = { lsn: base.pitr.stopLsn, time: base.pitr.stoppedAt };
	for (let i = 1; i < sets.length; i++) {
		const set = sets[i];
		const before = sets[i - 1];
		const pitr = set.pitr;
		if (pitr.kind !== 'wal') {
			problems.push(
				`${set.backupId} is a base backup inside the chain of ${base.backupId}: a new base starts a new chain`,
			);
			break;
		}
		if (set.source.systemIdentifier !== base.source.systemIdentifier) {
			problems.push(
				`${set.backupId} comes from another cluster (system identifier ${set.source.systemIdentifier}, the base's is ${base.source.systemIdentifier})`,
			);
			break;
		}
		if (pitr.timeline !== base.pitr.timeline) {
			problems.push(`${set.backupId} is on timeline ${pitr.timeline}, the chain on timeline ${base.pitr.timeline}`);
			break;
		}
		const beforeEnd = parseLsn(continuesFrom(before));
		const segmentBytes = base.source.walSegmentBytes;
		if (parseLsn(pitr.startLsn) > beforeEnd) {
			const missing = segmentName(pitr.timeline, segmentOf(beforeEnd, segmentBytes), segmentBytes);
			problems.push(
				`WAL segment ${missing} is missing: ${before.backupId} ends at ${formatLsn(beforeEnd)} and ${set.backupId} starts at ${pitr.startLsn}`,
			);
			break;
		}
		if (pitr.previousBackupId !== before.backupId)
			problems.push(
				`${set.backupId} was collected after ${pitr.previousBackupId}, but follows ${before.backupId} here: a set in between is missing`,
			);
		const expected = segmentsOf(pitr.timeline, pitr.startLsn, pitr.endLsn, segmentBytes);
		const have = new Map(pitr.segments.map((s) => [s.name, s]));
		for (const [index, name] of expected.entries()) {
			const segment = have.get(name);
			if (!segment) problems.push(`WAL segment ${name} is missing from ${set.backupId}`);
			else if (segment.partial && index !== expected.length - 1)
				problems.push(`WAL segment ${name} of ${set.backupId} is partial but not the set's last`);
		}
		report.segments += expected.length;
		if (problems.length) break;
	}
	for (const set of sets) {
		for (const problem of await checkArtifacts(set, options)) problems.push(problem);
		if (options.hashes) report.hashedArtifacts += set.artifacts.length;
	}
	const last = sets[sets.length - 1];
	report.to = { lsn: chainEnd(last), time: sets.length > 1 ? chainEndTime(last) : base.pitr.stoppedAt };
	report.ok = problems.length === 0;
	return report;
}

/** Like checkChain, but a broken chain is an error saying which segment or set is missing. */
export async function requireChain(sets: PitrSetRecord[], options: ChainCheckOptions): Promise<ChainReport> {
	const report = await checkChain(sets, options);
	if (!report.ok)
		throw new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`The point-in-time chain of ${sets[0]?.backupId ?? '(none)'} is broken: ${report.problems.slice(0, 3).join('; ')}${report.problems.length > 3 ? ` (and ${report.problems.length - 3} more)` : ''}`,
			'Restore from an intact copy of the sets (another destination), or to a time before the break. Start a new base backup (run the full) so that new sets form an intact chain.',
		);
	return report;
}

/** Names of the segments holding WAL from `startLsn` up to (not including) `endLsn`. */
export function segmentsOf(timeline: number, startLsn: string, endLsn: string, segmentBytes: number): string[] {
	const first = segmentOf(parseLsn(startLsn), segmentBytes);
	const end = parseLsn(endLsn);
	const last = end > 0n ? segmentOf(end - 1n, segmentBytes) : first;
	const names: string[] = [];
	for (let s = first; s <= last; s++) names.push(segmentName(timeline, s, segmentBytes));
	return names;
}

async function checkArtifacts(set: PitrSetRecord, options: ChainCheckOptions): Promise<string[]> {
	const problems: string[] = [];
	for (const artifact of set.artifacts) {
		const file = join(set.folder, ...artifact.path.split('/'));
		const what = /^wal\/([0-9A-F]{24})/.exec(artifact.path)?.[1];
		const label = what ? `WAL segment ${what} (${set.backupId})` : `${artifact.path} of ${set.backupId}`;
		try {
			const info = await stat(file);
			if (info.size !== artifact.bytes) {
				problems.push(`${label} has ${info.size} bytes, the set recorded ${artifact.bytes}: it is damaged`);
				continue;
			}
			if (options.hashes && (await hashFile(file)).sha256 !== artifact.sha256)
				problems.push(`${label} does not match its SHA-256: it is damaged`);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
			problems.push(`${label} is missing (${file})`);
		}
	}
	return problems;
}

export interface ChosenSegment {
	name: string;
	set: PitrSetRecord;
	segment: PitrSegment;
}

/**
 * For each segment of the chain's WAL sets, the most complete copy: a complete segment from
 * any set beats a partial one, and of two partial copies the later set's holds more.
 */
export function bestSegments(sets: PitrSetRecord[]): ChosenSegment[] {
	const chosen = new Map<string, ChosenSegment>();
	for (const set of sets) {
		if (set.pitr.kind !== 'wal') continue;
		for (const segment of set.pitr.segments) {
			const current = chosen.get(segment.name);
			if (!current || current.segment.partial) chosen.set(segment.name, { name: segment.name, set, segment });
		}
	}
	return [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name));
}
