import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { ArtifactRecord } from '../../backup-set/manifest';
import { BackupError } from '../../errors';
import type { Logger } from '../../logger';
import { childEnvironment, type ClientToolInfo } from '../postgres';
import { closeClient, connectBounded } from './bounded';
import type { PitrRunRequest } from './base-backup';
import { classifyWalFile, formatLsn, parseLsn, segmentName, segmentOf, segmentStart } from './lsn';
import {
	ARTIFACT_KIND,
	type PitrSegment,
	type PitrSetRecord,
	type PitrSourceFacts,
	type PitrWalSection,
	type SlotReport,
} from './manifest';
import { chainEnd, continuesFrom } from './chain';
import { currentPosition, readServerState, readSlot, requireServerReady, sourceFacts } from './server';
import { storeWritten } from './sealed';
import { findPitrClient, libpqFailure, runTool } from './tools';

export interface WalCollectRequest extends PitrRunRequest {
	/** The newest set of the chain (the base, or the previous WAL set). */
	previous: PitrSetRecord;
}

export interface WalCollectOutcome {
	source: PitrSourceFacts;
	pitr: PitrWalSection;
	artifacts: ArtifactRecord[];
	/** The slot after collection. Call releaseWal(connection, slot, pitr.endLsn) once the set is committed. */
	slot: SlotReport;
	warnings: string[];
}

const WAL_FOLDER = 'wal';
/** Where pg_receivewal writes: the set's wal/ folder, or wal/ in a sealed run's working folder. */
const walFolder = (request: PitrRunRequest) =>
	request.workFolder ? join(request.workFolder, WAL_FOLDER) : request.set.absolutePath(WAL_FOLDER);

const broken = (message: string) =>
	new BackupError(
		'BACKUP_CHAIN_BROKEN',
		message,
		'The point-in-time chain cannot continue: start a new base backup (run the full). Sets made so far stay restorable up to their end.',
	);

/**
 * One incremental of a point-in-time chain: the WAL written since the previous set, up to the
 * server's position at the start of this run, received with pg_receivewal from the
 * environment's slot, then stopped (a scheduled run, not a daemon).
 *
 * What a WAL set holds: every segment from the one holding the slot's restart position to the
 * one holding the end position, gzip-compressed. The last one is usually incomplete and kept as
 * pg_receivewal leaves it (`.partial`): it holds the WAL up to the end position, which is what
 * makes a five-minute recovery point possible on a quiet server that fills a segment in hours.
 * The next set fetches that segment again from its start; a restore uses the most complete copy.
 */
export async function collectWal(request: WalCollectRequest): Promise<WalCollectOutcome> {
	const { connection, options, log, previous } = request;
	const slotName = previous.source.slotName;
	const warnings: string[] = [];
	const client = await connectBounded(connection);
	try {
		const state = await readServerState(client);
		requireServerReady(state, connection);
		if (state.systemIdentifier !== previous.source.systemIdentifier)
			throw broken(
				`${connection.host}:${connection.port} is another cluster (system identifier ${state.systemIdentifier}) than the chain's (${previous.source.systemIdentifier}): it was re-created, restored from a logical dump, or the address now points elsewhere`,
			);
		const chainTimeline = previous.pitr.timeline;
		if (state.timeline !== chainTimeline)
			throw broken(
				`The server now writes WAL on timeline ${state.timeline}, the chain is on timeline ${chainTimeline}: a failover, a promotion or a point-in-time recovery happened since the chain's last set (${previous.backupId})`,
			);
		const previousEnd = chainEnd(previous);
		const continuable = continuesFrom(previous);
		const segmentBytes = previous.source.walSegmentBytes;
		const slot = await readSlot(client, slotName, options.slotWarnBytes);
		if (!slot.exists || !slot.restartLsn)
			throw broken(
				`Replication slot "${slotName}" ${slot.exists ? 'reserves no WAL' : 'does not exist'} on the server: the WAL after ${previousEnd} (set ${previous.backupId}) was not kept`,
			);
		if (slot.walStatus === 'lost')
			throw broken(
				`Replication slot "${slotName}" lost WAL (max_slot_wal_keep_size was exceeded) after set ${previous.backupId}`,
			);
		if (slot.active)
			throw new BackupError(
				'LOCKED',
				`Replication slot "${slotName}" is in use by another process`,
				'Another collection of this environment is running, or an old pg_receivewal still runs somewhere: wait, or stop it.',
			);
		// pg_receivewal starts at the start of the segment holding the slot's position: that
		// must not lie after the previous set's end, or WAL in between is missing.
		const start = segmentStart(parseLsn(slot.restartLsn), segmentBytes);
		if (start > parseLsn(continuable))
			throw broken(
				`WAL segment ${segmentName(chainTimeline, segmentOf(parseLsn(continuable), segmentBytes), segmentBytes)} is missing: the chain's last set (${previous.backupId}) ends at ${continuable}, but the slot "${slotName}" only keeps WAL from ${slot.restartLsn} (it was re-created or advanced by someone else)`,
			);

		const end = await currentPosition(client);
		await flushPastEnd(client, log);
		const pgReceivewal = await findPitrClient('pg_receivewal', state.major, options.binFolder);
		await mkdir(walFolder(request), { mode: request.workFolder ? 0o700 : 0o750 });
		await runReceivewal(request, pgReceivewal, slotName, end.lsn);

		const { segments, historyFiles, artifacts } = await recordFiles(request, {
			timeline: chainTimeline,
			segmentBytes,
			first: segmentOf(start, segmentBytes),
			last: segmentOf(parseLsn(end.lsn) - 1n, segmentBytes),
		});
		const after = await readSlot(client, slotName, options.slotWarnBytes);
		if (after.warning) {
			warnings.push(after.warning);
			log.warn(after.warning);
		}
		const pitr: PitrWalSection = {
			kind: 'wal',
			timeline: chainTimeline,
			startLsn: formatLsn(start),
			endLsn: formatLsn(parseLsn(end.lsn)),
			endTime: end.at,
			previousEndLsn: previousEnd,
			previousBackupId: previous.backupId,
			segments,
			historyFiles,
		};
		log.info(
			`WAL ${pitr.startLsn} to ${pitr.endLsn} collected (${segments.length} segments${segments.some((s) => s.partial) ? ', the last one partial' : ''}); slot ${slotName} keeps ${after.retainedBytes} bytes`,
		);
		return {
			source: sourceFacts(state, connection, slotName, `pg_receivewal ${pgReceivewal.version}`),
			pitr,
			artifacts,
			slot: after,
			warnings,
		};
	} finally {
		await closeClient(client);
	}
}

/**
 * Makes sure WAL past the end position is flushed, so pg_receivewal (which stops only once it
 * received WAL past --endpos, and the server sends flushed WAL only) ends promptly. Without
 * this an idle server can leave the tail of its WAL unflushed for minutes: the WAL writer
 * flushes whole pages and asynchronous commits only, and after a segment switch the insert
 * position even points past a page header nothing has written yet. A transaction with an xid
 * committed with synchronous_commit = local flushes everything before its commit record; its
 * commit, after the end, also lets a recovery to a time inside this set stop there cleanly.
 * Without it (a read-only role, say) the run ends once the server flushes WAL of its own.
 */
async function flushPastEnd(client: Client, log: Logger): Promise<void> {
	try {
		await client.query('BEGIN READ WRITE');
		await client.query('SET LOCAL synchronous_commit = local');
		await client.query('SELECT pg_current_xact_id()');
		await client.query('COMMIT');
	} catch (error) {
		await client.query('ROLLBACK').catch(() => undefined);
		log.debug(
			`Could not flush the WAL past the end position (${(error as Error).message}); waiting for the server to flush it`,
		);
	}
}

async function runReceivewal(
	request: WalCollectRequest,
	pgReceivewal: ClientToolInfo,
	slotName: string,
	endLsn: string,
): Promise<void> {
	const { connection, options, log } = request;
	// pg_receivewal stops once it received WAL *past* --endpos; ending one byte early makes it
	// stop as soon as it has everything before endLsn, instead of waiting for more WAL.
	const stopAt = formatLsn(parseLsn(endLsn) - 1n);
	const args = [
		`--directory=${walFolder(request)}`,
		`--slot=${slotName}`,
		`--endpos=${stopAt}`,
		'--no-loop',
		pgReceivewal.major >= 15 ? '--compress=gzip' : '--compress=5',
		'--no-password',
		'--verbose',
	];
	const { env, dispose } = await childEnvironment(connection);
	try {
		const result = await runTool(pgReceivewal.path, args, {
			env,
			signal: request.signal,
			timeoutMs: options.collectTimeoutMs,
			onStderrLine: (line) => log.debug(line),
		});
		if (result.aborted)
			throw new BackupError(
				'CANCELLED',
				'The WAL collection was stopped before it finished',
				'Nothing was kept: the unfinished set is removed.',
			);
		if (result.timedOut)
			throw new BackupError(
				'TIMEOUT',
				`pg_receivewal did not reach ${endLsn} within ${Math.round(options.collectTimeoutMs / 1000)} s`,
				'The server is slow to send WAL or the network is slow; raise the collection timeout. The slot still holds the WAL: the next run collects it.',
			);
		if (result.code !== 0)
			throw libpqFailure(
				'pg_receivewal',
				result.output.text(),
				connection.user,
				'Read the message of pg_receivewal above.',
			);
	} finally {
		await dispose();
	}
}

/**
 * Checks what pg_receivewal left against what was asked (every segment from `first` to `last`
 * on the chain's timeline, only the last one partial) and hashes each file into the set.
 */
async function recordFiles(
	request: WalCollectRequest,
	expect: { timeline: number; segmentBytes: number; first: bigint; last: bigint },
): Promise<{ segments: PitrSegment[]; historyFiles: string[]; artifacts: ArtifactRecord[] }> {
	const { set } = request;
	const files = (await readdir(walFolder(request))).sort();
	const segments: PitrSegment[] = [];
	const historyFiles: string[] = [];
	const artifacts: ArtifactRecord[] = [];
	const byName = new Map<string, { file: string; partial: boolean; compression: 'gzip' | 'none' }>();
	for (const file of files) {
		const info = classifyWalFile(file);
		if (!info) continue; // pg_receivewal's own temporary files, if any
		if (info.kind === 'history') {
			historyFiles.push(file);
			continue;
		}
		if (info.timeline !== expect.timeline)
			throw broken(
				`The server switched from timeline ${expect.timeline} to ${info.timeline} while WAL was collected (${file})`,
			);
		if (info.compression === 'lz4')
			throw new BackupError(
				'DUMP_FAILED',
				`pg_receivewal wrote an lz4 file (${file}); gzip was asked for`,
				'Report this: the collection is not kept.',
			);
		byName.set(info.name, { file, partial: info.partial, compression: info.compression });
	}
	if (historyFiles.length)
		throw broken(
			`The server switched timelines while WAL was collected (history files ${historyFiles.join(', ')} arrived)`,
		);
	// Hashed into the set where it lies, or (sealed run) encrypted into it from the working folder.
	const store = async (name: string, file: { file: string; partial: boolean; compression: 'gzip' | 'none' }) => {
		const record = await storeWritten(
			set,
			request.workFolder,
			`${WAL_FOLDER}/${file.file}`,
			file.partial ? ARTIFACT_KIND.partialSegment : ARTIFACT_KIND.segment,
		);
		artifacts.push(record);
		segments.push({ name, path: record.path, partial: file.partial, compression: file.compression });
	};
	for (let segment = expect.first; segment <= expect.last; segment++) {
		const name = segmentName(expect.timeline, segment, expect.segmentBytes);
		const found = byName.get(name);
		if (!found)
			throw new BackupError(
				'DUMP_FAILED',
				`pg_receivewal ended without WAL segment ${name} (expected ${segmentName(expect.timeline, expect.first, expect.segmentBytes)} to ${segmentName(expect.timeline, expect.last, expect.segmentBytes)})`,
				'Run the incremental again; the slot still holds the WAL.',
			);
		if (found.partial && segment !== expect.last)
			throw new BackupError(
				'DUMP_FAILED',
				`pg_receivewal left segment ${name} incomplete before the last one`,
				'Run the incremental again; the slot still holds the WAL.',
			);
		await store(name, found);
		byName.delete(name);
	}
	// pg_receivewal writes whole messages: a few bytes past the end may open the next segment.
	for (const [name, extra] of byName) await store(name, extra);
	return { segments, historyFiles, artifacts };
}
