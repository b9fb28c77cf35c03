import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRecord, PostgresInventory } from '../../backup-set/manifest';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import { BackupError } from '../../errors';
import type { Logger } from '../../logger';
import { childEnvironment, type ClientToolInfo, type PostgresConnection } from '../postgres';
import { closeClient, connectBounded } from './bounded';
import { baseInventory } from './inventory';
import { compareLsn, formatLsn, parseLsn } from './lsn';
import { baseWalEnd } from './chain';
import {
	ARTIFACT_KIND,
	type BaseCompression,
	type PitrBaseSection,
	type PitrSourceFacts,
	type PitrTablespace,
	type SlotReport,
} from './manifest';
import {
	DEFAULT_SLOT_WARN_BYTES,
	readServerState,
	readSlot,
	serverClock,
	requireServerReady,
	slotNameFor,
	sourceFacts,
} from './server';
import { dropSlot, ensureSlot } from './slot';
import { storeWritten } from './sealed';
import { findPitrClient, libpqFailure, runTool } from './tools';

export interface PitrBackupOptions {
	/** Compression of the tar files (PostgreSQL 15's pg_basebackup compresses pg_wal.tar with gzip only). */
	compression: BaseCompression;
	compressionLevel: number | null;
	/** client: on the n8n host; server: on the database server (less network, its CPU). */
	compressOn: 'client' | 'server';
	/** fast: start at once with an immediate checkpoint; spread: wait for a paced one (less I/O burst). */
	checkpoint: 'fast' | 'spread';
	/** Default totvs_<environment>. */
	slotName?: string;
	/** Warn when the slot keeps more WAL than this on the server. */
	slotWarnBytes: number;
	/** Inventory: tables above this size get the planner's estimate (0 = count every table exactly). */
	exactCountMaxBytes: number;
	fingerprintRows: number;
	/** Folder of pg_basebackup / pg_receivewal; searched when empty. */
	binFolder?: string;
	/** pg_receivewal: stop waiting for the end position after this long. */
	collectTimeoutMs: number;
	/** pg_basebackup: give up (and remove the unfinished set) after this long. */
	baseTimeoutMs: number;
}

export const defaultPitrOptions: PitrBackupOptions = {
	compression: 'gzip',
	compressionLevel: null,
	compressOn: 'client',
	checkpoint: 'fast',
	slotWarnBytes: DEFAULT_SLOT_WARN_BYTES,
	exactCountMaxBytes: 256 * 1024 * 1024,
	fingerprintRows: 1000,
	collectTimeoutMs: 60 * 60 * 1000,
	baseTimeoutMs: 24 * 60 * 60 * 1000,
};

export interface PitrRunRequest {
	connection: PostgresConnection;
	environment: string;
	/** The set being written (its folder receives the files; artifacts are hashed into it). */
	set: BackupSetWriter;
	options: PitrBackupOptions;
	log: Logger;
	signal?: AbortSignal;
	/**
	 * Sealed runs: the private (0700) folder the PostgreSQL program writes into; each file is then
	 * encrypted into the set and its plaintext removed (sealed.ts). Absent: it writes into the set.
	 */
	workFolder?: string;
}

export interface BaseBackupOutcome {
	source: PitrSourceFacts;
	pitr: PitrBaseSection;
	inventory: PostgresInventory;
	artifacts: ArtifactRecord[];
	/** The slot after the backup. Call releaseWal(connection, slot, pitr.stopLsn) once the set is committed. */
	slot: SlotReport;
	compression: { method: BaseCompression; level: number | null };
	warnings: string[];
}

const PROGRESS_INTERVAL_MS = 10_000;
const BASE_FOLDER = 'base';

export function compressionArgument(method: BaseCompression, level: number | null, where: 'client' | 'server'): string {
	if (method === 'none') return '--compress=none';
	return `--compress=${where}-${method}${level === null ? '' : `:${level}`}`;
}

/**
 * A base backup over the replication protocol: pg_basebackup in tar format, compressed, with
 * its backup_manifest and the WAL of the backup streamed through the environment's slot (so
 * the slot holds WAL from the backup's start on, for the first incremental). Every file is
 * hashed into the set; the inventory of the ERP database travels with it.
 */
export async function takeBaseBackup(request: PitrRunRequest): Promise<BaseBackupOutcome> {
	const { connection, options, log, set } = request;
	const slotName = options.slotName ?? slotNameFor(request.environment);
	const warnings: string[] = [];
	const client = await connectBounded(connection);
	let pgBasebackup: ClientToolInfo;
	// A slot made by a run that then fails would keep WAL on the server for nothing: such a
	// slot is dropped again. A slot that existed before (an older chain's) is left alone.
	let createdSlot = false;
	try {
		const state = await readServerState(client);
		requireServerReady(state, connection);
		pgBasebackup = await findPitrClient('pg_basebackup', state.major, options.binFolder);
		const pgReceivewal = await findPitrClient('pg_receivewal', state.major, options.binFolder);
		createdSlot = !(await readSlot(client, slotName)).exists;
		await ensureSlot(connection, pgReceivewal, slotName, request.signal);
		const tablespaces = await client.query<{ oid: number; name: string; location: string }>(
			`SELECT oid, spcname AS name, pg_tablespace_location(oid) AS location
			   FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid`,
		);
		const inventory = await baseInventory(connection, options.exactCountMaxBytes, options.fingerprintRows, log);
		log.info(
			`Base backup of ${connection.host}:${connection.port} (PostgreSQL ${state.serverVersion}, timeline ${state.timeline}) with ${pgBasebackup.path} ${pgBasebackup.version}, slot ${slotName}`,
		);
		const startedAt = await serverClock(client);
		await runBasebackup(request, pgBasebackup, slotName);
		const stoppedAt = await serverClock(client);

		const written = (relative: string) =>
			request.workFolder ? join(request.workFolder, ...relative.split('/')) : set.absolutePath(relative);
		const files = await readdir(written(BASE_FOLDER));
		const find = (stem: string) => files.find((f) => f === stem || f.startsWith(`${stem}.`));
		const baseFile = find('base.tar');
		const walFile = find('pg_wal.tar');
		if (!baseFile || !walFile || !files.includes('backup_manifest'))
			throw new BackupError(
				'DUMP_FAILED',
				`pg_basebackup finished but left ${files.join(', ') || 'nothing'} in ${written(BASE_FOLDER)} (base.tar, pg_wal.tar and backup_manifest expected)`,
				'Run pg_basebackup by hand with the same options to see what went wrong.',
			);
		const manifestPath = `${BASE_FOLDER}/backup_manifest`;
		const ranges = await walRanges(written(manifestPath));
		const restoredBytes = await dataBytes(written(manifestPath));
		if (ranges.length !== 1)
			throw new BackupError(
				'DUMP_FAILED',
				`The server changed timelines during the base backup (WAL ranges ${ranges.map((r) => `${r.start}-${r.end} on ${r.timeline}`).join(', ')})`,
				'A failover or promotion happened while the backup ran: run the full again.',
			);
		const spaces: PitrTablespace[] = [];
		for (const t of tablespaces.rows) {
			const archive = find(String(t.oid));
			if (!archive)
				throw new BackupError(
					'DUMP_FAILED',
					`pg_basebackup wrote no archive for tablespace ${t.name} (${t.oid})`,
					'Run pg_basebackup by hand to see why.',
				);
			spaces.push({ oid: Number(t.oid), name: t.name, location: t.location, archive: `${BASE_FOLDER}/${archive}` });
		}
		// Hash what pg_basebackup wrote and closed (a sealed run: encrypt it into the set): the
		// manifest first, then the archives. Each record's path is the stored one (`.age` when sealed).
		const store = (relative: string, kind: string) => storeWritten(set, request.workFolder, relative, kind);
		const artifacts: ArtifactRecord[] = [];
		const manifestRecord = await store(manifestPath, ARTIFACT_KIND.backupManifest);
		const baseRecord = await store(`${BASE_FOLDER}/${baseFile}`, ARTIFACT_KIND.baseTar);
		const walRecord = await store(`${BASE_FOLDER}/${walFile}`, ARTIFACT_KIND.walTar);
		artifacts.push(manifestRecord, baseRecord, walRecord);
		for (const t of spaces) {
			const record = await store(t.archive, ARTIFACT_KIND.tablespaceTar);
			artifacts.push(record);
			t.archive = record.path;
		}

		const slot = await readSlot(client, slotName, options.slotWarnBytes);
		if (slot.warning) {
			warnings.push(slot.warning);
			log.warn(slot.warning);
		}
		const pitr: PitrBaseSection = {
			kind: 'base',
			timeline: ranges[0].timeline,
			startLsn: ranges[0].start,
			stopLsn: ranges[0].end,
			...walEnd(ranges[0].end, slot.restartLsn, state.walSegmentBytes),
			startedAt,
			stoppedAt,
			label: set.backupId,
			backupManifest: manifestRecord.path,
			baseArchive: baseRecord.path,
			walArchive: walRecord.path,
			tablespaces: spaces,
			compression: { method: options.compression, level: options.compressionLevel, where: options.compressOn },
			dataBytes: restoredBytes,
		};
		log.info(
			`Base backup done: WAL ${pitr.startLsn} to ${pitr.stopLsn} on timeline ${pitr.timeline}; slot ${slotName} keeps ${slot.retainedBytes} bytes`,
		);
		return {
			source: sourceFacts(state, connection, slotName, `pg_basebackup ${pgBasebackup.version}`),
			pitr,
			inventory,
			artifacts,
			slot,
			compression: { method: options.compression, level: options.compressionLevel },
			warnings,
		};
	} catch (error) {
		if (createdSlot)
			await dropSlot(connection, slotName).catch((e: Error) =>
				log.warn(`Could not drop slot ${slotName}: ${e.message}`),
			);
		throw error;
	} finally {
		await closeClient(client);
	}
}

async function runBasebackup(request: PitrRunRequest, pgBasebackup: ClientToolInfo, slotName: string): Promise<void> {
	const { options, log, set, connection } = request;
	const target = request.workFolder ? join(request.workFolder, BASE_FOLDER) : set.absolutePath(BASE_FOLDER);
	const args = [
		`--pgdata=${target}`,
		'--format=tar',
		'--wal-method=stream',
		`--slot=${slotName}`,
		`--checkpoint=${options.checkpoint}`,
		`--label=${set.backupId}`,
		compressionArgument(options.compression, options.compressionLevel, options.compressOn),
		'--no-password',
		'--verbose',
	];
	const { env, dispose } = await childEnvironment(connection);
	const started = Date.now();
	const progress = setInterval(() => {
		void folderBytes(target).then((bytes) =>
			log.info(
				`pg_basebackup: ${(bytes / 1024 ** 2).toFixed(0)} MiB written, ${Math.round((Date.now() - started) / 1000)} s`,
			),
		);
	}, PROGRESS_INTERVAL_MS);
	try {
		const result = await runTool(pgBasebackup.path, args, {
			env,
			signal: request.signal,
			timeoutMs: options.baseTimeoutMs,
			onStderrLine: (line) => log.debug(line),
		});
		if (result.aborted)
			throw new BackupError(
				'CANCELLED',
				'The base backup was stopped before pg_basebackup finished',
				'Nothing was kept: the unfinished set is removed.',
			);
		if (result.timedOut)
			throw new BackupError(
				'TIMEOUT',
				`pg_basebackup did not finish within ${Math.round(options.baseTimeoutMs / 60_000)} min`,
				'The database is larger or the network slower than the base backup timeout allows: raise it. Nothing was kept: the unfinished set is removed.',
			);
		if (result.code !== 0)
			throw libpqFailure(
				'pg_basebackup',
				result.output.text(),
				connection.user,
				'Read the message of pg_basebackup above. Common causes: a WAL sender or slot limit, the connection dropped, disk full.',
			);
	} finally {
		clearInterval(progress);
		await dispose();
	}
}

async function folderBytes(folder: string): Promise<number> {
	let total = 0;
	try {
		for (const name of await readdir(folder)) total += (await stat(`${folder}/${name}`)).size;
	} catch {
		// not created yet
	}
	return total;
}

/** backup_manifest's "WAL-Ranges" (at its end: only the tail is read, the manifest lists every file). */
export async function walRanges(
	manifestPath: string,
): Promise<Array<{ timeline: number; start: string; end: string }>> {
	const handle = await open(manifestPath, 'r');
	let text: string;
	try {
		const { size } = await handle.stat();
		const length = Math.min(size, 256 * 1024);
		const buffer = Buffer.alloc(length);
		await handle.read(buffer, 0, length, size - length);
		text = buffer.toString('utf8');
	} finally {
		await handle.close();
	}
	const section = /"WAL-Ranges"\s*:\s*\[([\s\S]*?)\]/.exec(text);
	if (!section)
		throw new BackupError(
			'DUMP_FAILED',
			`${manifestPath} has no WAL-Ranges`,
			'The backup manifest is incomplete: run the full again.',
		);
	const ranges: Array<{ timeline: number; start: string; end: string }> = [];
	for (const m of section[1].matchAll(
		/"Timeline"\s*:\s*(\d+)\s*,\s*"Start-LSN"\s*:\s*"([^"]+)"\s*,\s*"End-LSN"\s*:\s*"([^"]+)"/g,
	))
		ranges.push({ timeline: Number(m[1]), start: formatLsn(parseLsn(m[2])), end: formatLsn(parseLsn(m[3])) });
	return ranges;
}

/** Sum of the file sizes the manifest lists: the size of the restored data folder (without WAL). */
export async function dataBytes(manifestPath: string): Promise<number> {
	const text = await readFile(manifestPath, 'utf8');
	let total = 0;
	for (const m of text.matchAll(/"Size"\s*:\s*(\d+)/g)) total += Number(m[1]);
	return total;
}

/** walEndLsn when pg_basebackup's WAL stream received past the stop position (see baseWalEnd). */
function walEnd(stopLsn: string, slotRestartLsn: string | null, segmentBytes: number): { walEndLsn?: string } {
	const end = baseWalEnd(stopLsn, slotRestartLsn, segmentBytes);
	return compareLsn(end, stopLsn) === 0 ? {} : { walEndLsn: end };
}
