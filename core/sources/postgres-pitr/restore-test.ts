import { createWriteStream } from 'node:fs';
import {
	chmod,
	chown,
	mkdir,
	mkdtemp,
	readFile,
	rename,
	rm,
	stat,
	statfs,
	truncate,
	writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { BackupError } from '../../errors';
import type { Logger } from '../../logger';
import { bestSegments, chainEnd, chainEndTime, requireChain } from './chain';
import { closeClient, stallGuard } from './bounded';
import { decompressedStream, EXTRACT_STALL_MS, extractTar, type Owner } from './extract';
import { compareLsn } from './lsn';
import type { PitrBaseSection, PitrSetRecord } from './manifest';
import { openPitrFile, requireIdentities } from './sealed';
import {
	confString,
	isRoot,
	logTail,
	lookupUser,
	requireUserCanWrite,
	socketClient,
	startServer,
	startWatchdog,
	stopServer,
	stopWatchdog,
	type ScratchServer,
	type ScratchServerOptions,
} from './scratch-cluster';
import { findServerBinaries } from './tools';

/** A time to recover to (server clock, UTC), or the end of the newest set of the chain. */
export type PitrTarget = { time: Date } | { end: true };

export interface PitrRestoreTestRequest {
	/** Base first, then its WAL sets in order. */
	chain: PitrSetRecord[];
	target: PitrTarget;
	/** Where the scratch data folder is built (needs the base's dataBytes plus the WAL). */
	scratchFolder: string;
	/** PostgreSQL server programs of the backup's major; /usr/lib/postgresql/<major>/bin when empty. */
	serverBinFolder?: string;
	/** The OS user the scratch server runs as when n8n runs as root (default "postgres"). */
	osUser?: string;
	/** Database the checks connect to (default: the one the backup's inventory describes). */
	database?: string;
	/** Tables whose exact row count the report gives. */
	countTables?: Array<{ schema: string; name: string }>;
	/** More checks on the recovered database while it runs (the ERP checks plug in here). */
	inspect?: (client: Client) => Promise<unknown>;
	/** Compare every artifact's SHA-256 before restoring (default true). */
	verifyHashes?: boolean;
	/** Bound on recovery (default 30 minutes). */
	recoveryTimeoutMs?: number;
	log: Logger;
	signal?: AbortSignal;
}

export interface PitrCheck {
	name: string;
	passed: boolean;
	expected: string;
	actual: string;
}

export interface PitrRestoreReport {
	passed: boolean;
	baseBackupId: string;
	/** WAL sets used, in order. */
	walBackupIds: string[];
	target: string;
	/** The newest transaction the recovered cluster holds (pg_last_xact_replay_timestamp), server clock. */
	reachedTransactionTime: string | null;
	reachedLsn: string | null;
	/** Time target minus the reached transaction time: the recovery point actually achieved. */
	gapMs: number | null;
	/** The first transaction recovery left out, from the server log ("recovery stopping before commit"). */
	stoppedBefore: { xid: string; time: string } | null;
	/** Set when recovery reached the end of the WAL without seeing a commit after the target: the result is the state at the target. */
	note: string | null;
	timeline: number | null;
	/** Restore time to a running, recovered cluster (extraction, WAL, recovery): the RTO. */
	rtoMs: number;
	timings: { extractMs: number; walMs: number; recoveryMs: number; checksMs: number; totalMs: number };
	checks: PitrCheck[];
	counts: Array<{ schema: string; name: string; rows: number | null }>;
	inspected?: unknown;
	/** The end of the scratch server's log when something failed. */
	serverLog?: string;
}

const RECOVERY_TIMEOUT_MS = 30 * 60 * 1000;
const TARGET_NOT_REACHED = /recovery ended before configured recovery target was reached/;
/** Characters allowed in the scratch path, which restore_command passes through a shell. */
export const SHELL_SAFE_PATH = /^[A-Za-z0-9_./+@:,= -]+$/;

const pgTime = (at: Date) => at.toISOString().replace('T', ' ').replace('Z', '+00');

/**
 * Restore test to a point in time: the base backup and the WAL it needs are restored into a
 * scratch data folder, a private PostgreSQL of the same major recovers it to the target and
 * promotes, and the report says which transaction time was actually reached and how long it
 * took, with checks on the result. The scratch server is always stopped and its folder
 * removed, also on failure or cancellation.
 */
export async function restoreTestToPointInTime(request: PitrRestoreTestRequest): Promise<PitrRestoreReport> {
	const started = Date.now();
	const { log } = request;
	// A sealed chain without an identity stops before its files are read.
	requireIdentities(request.chain);
	await requireChain(request.chain, { hashes: request.verifyHashes ?? true });
	log.debug('Restore test: chain checked');
	const base = request.chain[0];
	const basePitr = base.pitr as PitrBaseSection;
	const sets = setsFor(request.chain, request.target);
	const major = Math.floor(base.source.serverVersionNum / 10000);
	const binaries = await findServerBinaries(major, request.serverBinFolder);
	const user = isRoot() ? (request.osUser ?? 'postgres') : undefined;
	const owner = user ? await lookupUser(user) : undefined;
	log.debug(`Restore test: PostgreSQL ${binaries.version} in ${binaries.binDir}, running as ${user ?? 'this user'}`);
	const segmentBytes = base.source.walSegmentBytes;
	const segments = bestSegments(sets);
	await requireSpace(request.scratchFolder, basePitr.dataBytes + (segments.length + 1) * segmentBytes);

	const scratch = await mkdtemp(join(request.scratchFolder, 'totvs-pitr-'));
	if (!SHELL_SAFE_PATH.test(scratch)) {
		await rm(scratch, { recursive: true, force: true });
		throw new BackupError(
			'STAGING_FOLDER',
			`The scratch folder path ${scratch} has characters that restore_command cannot carry safely`,
			'Choose a scratch folder whose path has letters, digits, spaces and - _ . / only.',
		);
	}
	const server: ScratchServerOptions = {
		binDir: binaries.binDir,
		dataDir: join(scratch, 'data'),
		socketDir: join(scratch, 'socket'),
		logFile: join(scratch, 'postgres.log'),
		// No TCP listener: the port only names the socket file inside our private folder.
		port: 5432,
		user,
		onExit: (code, signal) => log.debug(`Scratch server exited (${signal ?? `code ${code}`})`),
	};
	const archive = join(scratch, 'wal-archive');
	const report: PitrRestoreReport = {
		passed: false,
		baseBackupId: base.backupId,
		walBackupIds: sets.slice(1).map((s) => s.backupId),
		target: 'time' in request.target ? request.target.time.toISOString() : 'end',
		reachedTransactionTime: null,
		reachedLsn: null,
		gapMs: null,
		stoppedBefore: null,
		note: null,
		timeline: null,
		rtoMs: 0,
		timings: { extractMs: 0, walMs: 0, recoveryMs: 0, checksMs: 0, totalMs: 0 },
		checks: [],
		counts: [],
	};
	let watchdog: number | undefined;
	let running: ScratchServer | undefined;
	try {
		await chmod(scratch, 0o700);
		for (const folder of [server.socketDir, archive]) await mkdir(folder, { mode: 0o700 });
		if (owner) for (const folder of [scratch, server.socketDir, archive]) await chown(folder, owner.uid, owner.gid);
		if (user) await requireUserCanWrite(user, scratch);
		watchdog = startWatchdog(server, scratch);
		log.debug(`Restore test: scratch folder ${scratch} ready`);

		let phase = Date.now();
		await restoreBase(base, basePitr, server.dataDir, scratch, owner, request.signal);
		log.debug('Restore test: base extracted');
		report.timings.extractMs = Date.now() - phase;
		phase = Date.now();
		await materializeWal(segments, archive, segmentBytes, owner, request.signal);
		report.timings.walMs = Date.now() - phase;
		log.info(
			`Restored base ${base.backupId} and ${segments.length} WAL segments from ${sets.length - 1} sets into ${scratch}; recovering to ${report.target}`,
		);

		phase = Date.now();
		report.note = await recoverToTarget(
			server,
			archive,
			request.target,
			owner,
			base.source.bootstrapSuperuser,
			request,
			(r) => {
				running = r;
				log.debug(`Scratch server started (pid ${r.child.pid})`);
			},
		);
		report.timings.recoveryMs = Date.now() - phase;
		report.rtoMs = Date.now() - started;

		phase = Date.now();
		await runChecks(report, request, server, sets);
		report.timings.checksMs = Date.now() - phase;
		report.passed = report.checks.every((c) => c.passed);
		if (!report.passed) report.serverLog = await logTail(server.logFile);
		return report;
	} catch (error) {
		report.serverLog = await logTail(server.logFile);
		throw error;
	} finally {
		if (running)
			await stopServer(running, server).catch((error) =>
				log.warn(`Stopping the scratch server failed: ${(error as Error).message}`),
			);
		stopWatchdog(watchdog);
		await rm(scratch, { recursive: true, force: true });
		report.timings.totalMs = Date.now() - started;
	}
}

/**
 * Recovery to the target on a restored data folder: our configuration, the server started
 * (`started` gets each server, for the caller to stop), promotion awaited. When recovery runs out
 * of WAL before a commit after a time target, every transaction of the chain committed at or
 * before it (setsFor checked the chain reaches past it), so the end of the WAL is the state at
 * the target: recovery is repeated to the end and the returned note says so.
 */
export async function recoverToTarget(
	server: ScratchServerOptions,
	archive: string,
	target: PitrTarget,
	owner: Owner | undefined,
	superuser: string,
	request: Pick<PitrRestoreTestRequest, 'signal' | 'recoveryTimeoutMs' | 'log'>,
	started: (server: ScratchServer) => void,
): Promise<string | null> {
	let note: string | null = null;
	await writeRecoveryConfig(server, archive, target, owner);
	let running = await startServer(server);
	started(running);
	let outcome = await waitForPromotion(running, server, superuser, request);
	if (outcome === 'target-not-reached' && 'time' in target) {
		note =
			'No transaction committed after the target in the WAL of the chain: recovered to the end of the WAL, which is the state at the target.';
		request.log.info(note);
		await writeRecoveryConfig(server, archive, { end: true }, owner);
		running = await startServer(server);
		started(running);
		outcome = await waitForPromotion(running, server, superuser, request);
	}
	if (outcome !== 'promoted')
		throw recoveryFailed(
			`recovery ended without reaching ${'time' in target ? target.time.toISOString() : 'the end of the newest set'}`,
			await logTail(server.logFile),
		);
	return note;
}

/**
 * The sets a target needs: the base, and the WAL sets up to the first one ending after the
 * target plus one more (where the first commit after the target most likely lies); all of
 * them for the end. A target outside the chain is refused with the range it covers.
 */
export function setsFor(chain: PitrSetRecord[], target: PitrTarget): PitrSetRecord[] {
	const base = chain[0];
	const last = chain[chain.length - 1];
	if (!('time' in target)) return chain;
	const at = target.time.getTime();
	const from = new Date(chainEndTime(base));
	const to = new Date(chainEndTime(last));
	if (Number.isNaN(at))
		throw new BackupError(
			'INVALID_INPUT',
			'The target time is not a valid date',
			'Give the target as an ISO-8601 time, e.g. 2026-05-04T13:45:00Z.',
		);
	if (at < from.getTime())
		throw new BackupError(
			'INVALID_INPUT',
			`Target ${target.time.toISOString()} is before the end of base backup ${base.backupId} (${from.toISOString()}): this chain restores from ${from.toISOString()} to ${to.toISOString()}`,
			'Choose a later target, or the chain of an older base backup.',
		);
	if (at > to.getTime())
		throw new BackupError(
			'INVALID_INPUT',
			`Target ${target.time.toISOString()} is after the newest set of the chain (${last.backupId}, up to ${to.toISOString()}): this chain restores from ${from.toISOString()} to ${to.toISOString()}`,
			'Run the incremental (collect WAL) first, or choose an earlier target.',
		);
	const index = chain.findIndex((s, i) => i > 0 && new Date(chainEndTime(s)).getTime() >= at);
	return index < 0 ? chain : chain.slice(0, Math.min(chain.length, index + 2));
}

export async function requireSpace(folder: string, needed: number): Promise<void> {
	let free: number;
	try {
		const info = await statfs(folder);
		free = info.bavail * info.bsize;
	} catch (error) {
		throw new BackupError(
			'STAGING_FOLDER',
			`Scratch folder ${folder} cannot be used: ${(error as Error).message}`,
			'Create the folder or choose another one.',
			{
				cause: error,
			},
		);
	}
	if (free < needed)
		throw new BackupError(
			'DISK_FULL',
			`Scratch folder ${folder} has ${(free / 1024 ** 3).toFixed(2)} GiB free; the restored cluster needs ${(needed / 1024 ** 3).toFixed(2)} GiB`,
			'Free space or choose a scratch folder on a larger disk. Nothing was written.',
		);
}

export async function restoreBase(
	set: PitrSetRecord,
	pitr: PitrBaseSection,
	dataDir: string,
	scratch: string,
	owner: Owner | undefined,
	signal: AbortSignal | undefined,
): Promise<void> {
	// A sealed set's archives are decrypted on the fly into the extractor (openPitrFile).
	const file = (relative: string) => join(set.folder, ...relative.split('/'));
	const raw = (relative: string) => openPitrFile(set, relative);
	await extractTar(file(pitr.baseArchive), dataDir, owner, signal, raw(pitr.baseArchive));
	await extractTar(file(pitr.walArchive), join(dataDir, 'pg_wal'), owner, signal, raw(pitr.walArchive));
	if (!pitr.tablespaces.length) return;
	// Recovery makes pg_tblspc's links from tablespace_map: point them into the scratch folder.
	const lines: string[] = [];
	for (const t of pitr.tablespaces) {
		const folder = join(scratch, 'tablespaces', String(t.oid));
		await extractTar(file(t.archive), folder, owner, signal, raw(t.archive));
		lines.push(`${t.oid} ${folder}`);
	}
	await writeOwned(join(dataDir, 'tablespace_map'), `${lines.join('\n')}\n`, owner);
}

/** The chosen copy of each segment, decompressed; a partial one padded with zeros to a segment's size, as recovery expects. */
export async function materializeWal(
	segments: ReturnType<typeof bestSegments>,
	archive: string,
	segmentBytes: number,
	owner: Owner | undefined,
	signal: AbortSignal | undefined,
): Promise<void> {
	for (const { name, set, segment } of segments) {
		if (signal?.aborted)
			throw new BackupError(
				'CANCELLED',
				'The restore test was stopped',
				'Nothing is kept: the scratch folder is removed.',
			);
		const source = join(set.folder, ...segment.path.split('/'));
		const target = join(archive, name);
		const input = decompressedStream(source, openPitrFile(set, segment.path));
		const guard = stallGuard(
			EXTRACT_STALL_MS,
			`Decompressing WAL segment ${name} of ${set.backupId}`,
			'The scratch disk or the backup disk stopped answering: check them, then run again.',
		);
		input.stream.on('data', guard.touch);
		try {
			await pipeline(input.stream, createWriteStream(target, { mode: 0o600, flags: 'wx' }), {
				signal: guard.signal,
			});
		} catch (error) {
			throw guard.signal.aborted ? (guard.signal.reason as Error) : error;
		} finally {
			guard.dispose();
		}
		await input.done;
		const { size } = await stat(target);
		if (size > segmentBytes || (!segment.partial && size !== segmentBytes))
			throw new BackupError(
				'VERIFY_FAILED',
				`WAL segment ${name} of ${set.backupId} has ${size} bytes, a segment has ${segmentBytes}`,
				'The segment file is damaged: use another copy of the set.',
			);
		if (size < segmentBytes) await truncate(target, segmentBytes);
		if (owner) await chown(target, owner.uid, owner.gid);
	}
}

async function writeOwned(file: string, text: string, owner: Owner | undefined): Promise<void> {
	await writeFile(file, text, { mode: 0o600 });
	if (owner) await chown(file, owner.uid, owner.gid);
}

/**
 * Our own configuration replaces the source's (kept beside as *.source): its paths, ports,
 * preloaded libraries, TLS files and archive_command belong to the production server, not to
 * a scratch cluster. Only a local trust line in pg_hba.conf: the socket folder is private.
 */
export async function writeRecoveryConfig(
	server: ScratchServerOptions,
	archive: string,
	target: PitrTarget,
	owner: Owner | undefined,
) {
	const data = server.dataDir;
	for (const name of ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf']) {
		const from = join(data, name);
		const kept = `${from}.source`;
		try {
			await stat(kept);
		} catch {
			await rename(from, kept).catch(() => undefined);
		}
	}
	await rm(join(data, 'standby.signal'), { force: true });
	const settings: Record<string, string> = {
		listen_addresses: "''",
		port: String(server.port),
		unix_socket_directories: confString(server.socketDir),
		unix_socket_permissions: '0700',
		max_connections: '20',
		shared_buffers: "'128MB'",
		// Recovery ends, then connections: no hot standby (its parameter checks against the source do not apply).
		hot_standby: 'off',
		// A disposable cluster: durability costs time for nothing.
		fsync: 'off',
		synchronous_commit: 'off',
		archive_mode: 'off',
		shared_preload_libraries: "''",
		autovacuum: 'off',
		logging_collector: 'off',
		log_destination: "'stderr'",
		lc_messages: "'C'",
		timezone: "'UTC'",
		log_timezone: "'UTC'",
		max_wal_size: "'1GB'",
		restore_command: confString(`cp "${archive}/%f" "%p"`),
		recovery_target_timeline: "'current'",
	};
	if ('time' in target) {
		settings.recovery_target_time = confString(pgTime(target.time));
		settings.recovery_target_action = "'promote'";
	}
	const text = Object.entries(settings)
		.map(([k, v]) => `${k} = ${v}`)
		.join('\n');
	await writeOwned(
		join(data, 'postgresql.conf'),
		`# Scratch cluster of a TOTVS restore test; the source's settings are in postgresql.conf.source\n${text}\n`,
		owner,
	);
	await writeOwned(join(data, 'postgresql.auto.conf'), '', owner);
	await writeOwned(join(data, 'pg_hba.conf'), 'local all all trust\n', owner);
	await writeOwned(join(data, 'recovery.signal'), '', owner);
}

/** Polls until the server accepts connections out of recovery, or exits, or the time is up. */
export async function waitForPromotion(
	running: ScratchServer,
	server: ScratchServerOptions,
	superuser: string,
	request: Pick<PitrRestoreTestRequest, 'signal' | 'recoveryTimeoutMs' | 'log'>,
): Promise<'promoted' | 'target-not-reached'> {
	const deadline = Date.now() + (request.recoveryTimeoutMs ?? RECOVERY_TIMEOUT_MS);
	let lastState = '';
	for (;;) {
		if (request.signal?.aborted)
			throw new BackupError(
				'CANCELLED',
				'The restore test was stopped',
				'Nothing is kept: the scratch folder is removed.',
			);
		if (running.hasExited()) {
			const log = await logTail(server.logFile, 30);
			if (TARGET_NOT_REACHED.test(log)) return 'target-not-reached';
			throw recoveryFailed('the scratch PostgreSQL stopped during recovery', log);
		}
		const state = await promotionProbe(server, superuser);
		if (state === 'promoted') return 'promoted';
		if (state !== lastState) request.log.debug(`Scratch server: ${state}`);
		lastState = state;
		if (Date.now() > deadline)
			throw new BackupError(
				'TIMEOUT',
				`Recovery did not finish within ${Math.round((request.recoveryTimeoutMs ?? RECOVERY_TIMEOUT_MS) / 1000)} s`,
				'Much WAL to replay or a slow disk: raise the recovery timeout. The end of the server log is in the report.',
			);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/**
 * One look at the scratch server: 'promoted', or why not yet (the connection error). Bounded:
 * a poll must never hang the restore test, whatever state the socket is in (and the client is
 * closed without waiting: closing a half-open connection can wait forever).
 */
async function promotionProbe(server: ScratchServerOptions, superuser: string): Promise<string> {
	const client = socketClient(server, superuser, 'postgres');
	let timer: NodeJS.Timeout | undefined;
	const probe = (async () => {
		try {
			await client.connect();
			const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
			return rows[0].r ? 'in recovery' : 'promoted';
		} catch (error) {
			return (error as Error).message;
		}
	})();
	try {
		return await Promise.race([
			probe,
			new Promise<string>((resolve) => {
				timer = setTimeout(() => resolve('no answer within 15 s'), 15_000);
			}),
		]);
	} finally {
		clearTimeout(timer);
		client.end().catch(() => undefined);
	}
}

export function recoveryFailed(what: string, log: string): BackupError {
	return new BackupError(
		'RESTORE_FAILED',
		`Point-in-time restore failed: ${what}. Server log:\n${log}`,
		'Read the server log above. A missing or damaged WAL segment means the chain is broken (start a new base backup); a missing extension library must be installed on the n8n host for the scratch server.',
	);
}

async function runChecks(
	report: PitrRestoreReport,
	request: PitrRestoreTestRequest,
	server: ScratchServerOptions,
	sets: PitrSetRecord[],
) {
	const base = sets[0];
	const superuser = base.source.bootstrapSuperuser;
	const last = sets[sets.length - 1];
	const admin = socketClient(server, superuser, 'postgres');
	await admin.connect();
	try {
		const { rows } = await admin.query<{ t: Date | null; lsn: string | null; file: string }>(
			`SELECT pg_last_xact_replay_timestamp() AS t, pg_last_wal_replay_lsn()::text AS lsn,
			        pg_walfile_name(pg_current_wal_lsn()) AS file`,
		);
		report.reachedTransactionTime = rows[0].t?.toISOString() ?? null;
		report.reachedLsn = rows[0].lsn;
		report.timeline = parseInt(rows[0].file.slice(0, 8), 16);
	} finally {
		await closeClient(admin);
	}
	const log = await readFile(server.logFile, 'utf8').catch(() => '');
	const stop = /recovery stopping before (?:commit|abort) of transaction (\d+), time ([^\n]+)/.exec(log);
	if (stop) report.stoppedBefore = { xid: stop[1], time: logTime(stop[2]) };

	const check = (name: string, passed: boolean, expected: string, actual: string) =>
		report.checks.push({ name, passed, expected, actual });
	if ('time' in request.target) {
		const target = request.target.time.getTime();
		const reached = report.reachedTransactionTime ? new Date(report.reachedTransactionTime).getTime() : null;
		report.gapMs = reached === null ? null : target - reached;
		check(
			'recovered to the target',
			// No transaction in the replayed WAL: the state is the base backup's, which ended before the target.
			(reached === null || reached <= target) &&
				(!report.stoppedBefore || new Date(report.stoppedBefore.time).getTime() > target),
			`last transaction at or before ${request.target.time.toISOString()}`,
			`${report.reachedTransactionTime ?? 'none in the replayed WAL (the state of the base backup)'}${report.stoppedBefore ? `, stopped before the one of ${report.stoppedBefore.time}` : ''}`,
		);
	} else {
		const end = chainEnd(last);
		check(
			'recovered to the end of the newest set',
			report.reachedLsn !== null && compareLsn(report.reachedLsn, end) >= 0,
			`WAL replayed up to ${end} or later`,
			report.reachedLsn ?? 'nothing replayed',
		);
	}
	check(
		'promoted',
		report.timeline !== null && report.timeline > base.pitr.timeline,
		`a timeline after ${base.pitr.timeline}`,
		String(report.timeline),
	);

	const database = request.database ?? base.source.database;
	const client = socketClient(server, superuser, database);
	try {
		await client.connect();
	} catch (error) {
		check('database', false, `database ${database} reachable`, (error as Error).message);
		return;
	}
	try {
		check('database', true, `database ${database} reachable`, 'connected');
		const { rows } = await client.query<{ schema: string; name: string }>(
			`SELECT schemaname AS schema, tablename AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
		);
		const present = new Set(rows.map((r) => `${r.schema}.${r.name}`));
		const expected = base.inventory?.tables ?? [];
		const missing = expected.filter((t) => !present.has(`${t.schema}.${t.name}`)).map((t) => `${t.schema}.${t.name}`);
		check(
			'tables of the base inventory',
			missing.length === 0,
			`${expected.length} tables`,
			missing.length
				? `missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`
				: `${expected.length} present`,
		);
		for (const table of request.countTables ?? []) {
			try {
				const counted = await client.query<{ n: string }>(
					`SELECT count(*) AS n FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`,
				);
				report.counts.push({ ...table, rows: Number(counted.rows[0].n) });
			} catch (error) {
				report.counts.push({ ...table, rows: null });
				check(`count ${table.schema}.${table.name}`, false, 'table readable', (error as Error).message);
			}
		}
		if (request.inspect) report.inspected = await request.inspect(client);
	} finally {
		await closeClient(client);
	}
}

/** "2026-12-05 14:52:16.123456+00" (the server log's UTC timestamps) as ISO-8601; as written when unreadable. */
export function logTime(text: string): string {
	const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?\+00$/.exec(text.trim());
	if (!m) return text.trim();
	return new Date(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}Z`).toISOString();
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
