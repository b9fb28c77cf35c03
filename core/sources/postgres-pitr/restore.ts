/**
 * Restore (real) to a point in time: a data folder recovered to the target, for the DBA to put
 * into service. The base and the WAL it needs are restored into a new (or empty) folder, a
 * private PostgreSQL of the backup's major recovers it there (socket only, no TCP) and is shut
 * down cleanly, and the source's configuration files are put back. Nothing running is touched:
 * a folder that is not empty (a running cluster's data folder always is) is refused before
 * anything is written, and the folder is removed again when recovery fails.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BackupError, systemErrorCode } from '../../errors';
import type { Logger } from '../../logger';
import { closeClient } from './bounded';
import { bestSegments, requireChain } from './chain';
import type { Owner } from './extract';
import type { PitrBaseSection, PitrSetRecord } from './manifest';
import { requireIdentities } from './sealed';
import {
	materializeWal,
	recoverToTarget,
	requireSpace,
	restoreBase,
	setsFor,
	SHELL_SAFE_PATH,
	type PitrTarget,
} from './restore-test';
import {
	isRoot,
	lookupUser,
	requireUserCanWrite,
	socketClient,
	startWatchdog,
	stopServer,
	stopWatchdog,
	type ScratchServer,
	type ScratchServerOptions,
} from './scratch-cluster';
import { findServerBinaries } from './tools';

export interface PitrRestoreRequest {
	/** Base first, then its WAL sets in order. */
	chain: PitrSetRecord[];
	target: PitrTarget;
	/** The data folder to create: must not exist or be empty. */
	dataFolder: string;
	/** PostgreSQL server programs of the backup's major; /usr/lib/postgresql/<major>/bin when empty. */
	serverBinFolder?: string;
	/** Owner of the restored folder and the user recovery runs as, when n8n runs as root (default "postgres"). */
	osUser?: string;
	recoveryTimeoutMs?: number;
	log: Logger;
	signal?: AbortSignal;
}

export interface PitrRestoreResult {
	dataFolder: string;
	baseBackupId: string;
	walBackupIds: string[];
	target: string;
	/** Newest transaction in the restored cluster (server clock), and its WAL position. */
	reachedTransactionTime: string | null;
	reachedLsn: string | null;
	/** The new timeline the restored cluster writes on (recovery ended with a promotion). */
	timeline: number | null;
	note: string | null;
	postgresVersion: string;
	owner: string | null;
	durationMs: number;
	/** What the DBA does next, in order. */
	runbook: string[];
}

/** Refuses a data folder that exists and is not empty; creates it (0700) otherwise. */
async function prepareDataFolder(folder: string): Promise<void> {
	try {
		const entries = await readdir(folder);
		if (entries.length)
			throw new BackupError(
				'INVALID_INPUT',
				`${folder} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''})${entries.includes('postmaster.pid') ? ': a PostgreSQL cluster is running there' : ''}`,
				'A point-in-time restore never writes over anything: name a new folder (it is created) or an empty one. To replace a cluster, stop it, move its folder aside, and restore into a new one.',
			);
	} catch (error) {
		if (systemErrorCode(error) !== 'ENOENT') throw error;
		await mkdir(folder, { recursive: false, mode: 0o700 }).catch((e: unknown) => {
			throw new BackupError(
				'INVALID_INPUT',
				`Cannot create the data folder ${folder}: ${(e as Error).message}`,
				'Its parent folder must exist and be writable.',
			);
		});
	}
	await chmod(folder, 0o700);
}

export async function restoreToPointInTime(request: PitrRestoreRequest): Promise<PitrRestoreResult> {
	const started = Date.now();
	const { log } = request;
	const dataFolder = resolve(request.dataFolder);
	// A sealed chain without an identity stops before its files are read.
	requireIdentities(request.chain);
	await requireChain(request.chain, { hashes: true });
	const base = request.chain[0];
	const basePitr = base.pitr as PitrBaseSection;
	const sets = setsFor(request.chain, request.target);
	const major = Math.floor(base.source.serverVersionNum / 10000);
	const binaries = await findServerBinaries(major, request.serverBinFolder);
	const user = isRoot() ? (request.osUser ?? 'postgres') : undefined;
	const owner: Owner | undefined = user ? await lookupUser(user) : undefined;
	const segments = bestSegments(sets);
	const segmentBytes = base.source.walSegmentBytes;
	await prepareDataFolder(dataFolder);
	// Tablespaces are restored beside the data folder (pg_tblspc links point there), kept with it.
	const tablespaceRoot = basePitr.tablespaces.length ? `${dataFolder}-tablespaces` : undefined;
	if (tablespaceRoot) await prepareDataFolder(tablespaceRoot);
	let work: string | undefined;
	let running: ScratchServer | undefined;
	let watchdog: number | undefined;
	let done = false;
	const server: ScratchServerOptions = {
		binDir: binaries.binDir,
		dataDir: dataFolder,
		socketDir: '',
		logFile: '',
		port: 5432,
		user,
	};
	try {
		await requireSpace(dirname(dataFolder), basePitr.dataBytes + (segments.length + 1) * segmentBytes);
		// The WAL archive and the socket live beside the data folder, removed at the end.
		work = await mkdtemp(join(dirname(dataFolder), `.${basename(dataFolder)}.totvs-restore-`));
		if (!SHELL_SAFE_PATH.test(work))
			throw new BackupError(
				'INVALID_INPUT',
				`The data folder path ${dataFolder} has characters that restore_command cannot carry safely`,
				'Choose a path with letters, digits, spaces and - _ . / only.',
			);
		await chmod(work, 0o700);
		server.socketDir = join(work, 'socket');
		server.logFile = join(work, 'recovery.log');
		const archive = join(work, 'wal-archive');
		for (const folder of [server.socketDir, archive]) await mkdir(folder, { mode: 0o700 });
		if (owner)
			for (const folder of [dataFolder, work, server.socketDir, archive]) await chown(folder, owner.uid, owner.gid);
		if (user) await requireUserCanWrite(user, dataFolder);
		// The watchdog removes the work folder only: a half-recovered data folder is removed below.
		watchdog = startWatchdog(server, work);

		if (owner && tablespaceRoot) await chown(tablespaceRoot, owner.uid, owner.gid);
		await restoreBase(base, basePitr, dataFolder, tablespaceRoot ?? work, owner, request.signal);
		await materializeWal(segments, archive, segmentBytes, owner, request.signal);
		log.info(
			`Restoring base ${base.backupId} and ${segments.length} WAL segments into ${dataFolder}, recovering to ${'time' in request.target ? request.target.time.toISOString() : 'the end of the newest set'}`,
		);
		const note = await recoverToTarget(
			server,
			archive,
			request.target,
			owner,
			base.source.bootstrapSuperuser,
			request,
			(r) => (running = r),
		);
		const admin = socketClient(server, base.source.bootstrapSuperuser, 'postgres');
		let reached: { t: Date | null; lsn: string | null; file: string };
		await admin.connect();
		try {
			reached = (
				await admin.query<{ t: Date | null; lsn: string | null; file: string }>(
					`SELECT pg_last_xact_replay_timestamp() AS t, pg_last_wal_replay_lsn()::text AS lsn,
					        pg_walfile_name(pg_current_wal_lsn()) AS file`,
				)
			).rows[0];
		} finally {
			await closeClient(admin);
		}
		// A clean shutdown: its checkpoint leaves a folder that starts without replaying WAL.
		const recovered = running as ScratchServer | undefined;
		running = undefined;
		if (recovered) await stopServer(recovered, server);
		await putBackSourceConfig(dataFolder);
		done = true;
		const result: PitrRestoreResult = {
			dataFolder,
			baseBackupId: base.backupId,
			walBackupIds: sets.slice(1).map((s) => s.backupId),
			target: 'time' in request.target ? request.target.time.toISOString() : 'end',
			reachedTransactionTime: reached.t?.toISOString() ?? null,
			reachedLsn: reached.lsn,
			timeline: parseInt(reached.file.slice(0, 8), 16),
			note,
			postgresVersion: binaries.version,
			owner: user ?? null,
			durationMs: Date.now() - started,
			runbook: runbook(dataFolder, binaries.binDir, base, user, tablespaceRoot),
		};
		log.info(
			`Restored ${dataFolder}: last transaction ${result.reachedTransactionTime ?? 'none after the base'}, timeline ${result.timeline}`,
		);
		return result;
	} finally {
		if (running)
			await stopServer(running, server).catch((e: Error) => log.warn(`Stopping recovery failed: ${e.message}`));
		stopWatchdog(watchdog);
		if (work) await rm(work, { recursive: true, force: true });
		// Only what this restore created or filled (the folder was new or empty): nothing half-recovered stays.
		if (!done)
			for (const folder of [dataFolder, tablespaceRoot])
				if (folder) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
	}
}

/** The source's configuration back in place (ours was for recovery only); ours is removed. */
async function putBackSourceConfig(data: string): Promise<void> {
	for (const name of ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf']) {
		const kept = join(data, `${name}.source`);
		try {
			await stat(kept);
			await rename(kept, join(data, name));
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
		}
	}
	await rm(join(data, 'recovery.signal'), { force: true });
}

function runbook(
	data: string,
	binDir: string,
	base: PitrSetRecord,
	user: string | undefined,
	tablespaceRoot: string | undefined,
): string[] {
	const as = user ? `runuser -u ${user} -- ` : '';
	const tablespaces = base.pitr.kind === 'base' ? base.pitr.tablespaces : [];
	return [
		`Check ${data}/postgresql.conf (the source server's): port, listen_addresses, data paths, shared_preload_libraries, TLS files and archive_command must fit this host; change the port if the source still runs here.`,
		...(tablespaceRoot
			? [
					`Tablespaces (${tablespaces.map((t) => `${t.name} → ${tablespaceRoot}/tablespaces/${t.oid}`).join(', ')}) were restored beside the data folder and ${data}/pg_tblspc links to them: keep that folder with the data folder (or move it and fix the links).`,
				]
			: []),
		`Start it: ${as}${binDir}/pg_ctl start -D ${data} -l ${data}/startup.log`,
		'Connect and check the data (counts, the newest business dates); the restored cluster is on a new timeline and accepts writes.',
		"Point the ERP (DBAccess) at this server only after the checks, and start a new base backup (TOTVS Dump full): the restored cluster's WAL does not continue the old chain.",
		`Until then it is a separate cluster: stop it with ${as}${binDir}/pg_ctl stop -D ${data} -m fast.`,
	];
}
