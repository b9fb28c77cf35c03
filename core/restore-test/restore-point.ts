/**
 * Restore Test of a restore point: its database set and its files set (the pair TDN asks for
 * before a dictionary update), each restore-tested by its engine, and checked to belong together.
 */
import { basename, dirname, resolve } from 'node:path';
import { listSets, type CatalogEntry } from '../backup-set/catalog';
import { checkEnvironmentName } from '../backup-set/ids';
import { check, type CheckResult } from '../checks/check';
import type { Destination } from '../destinations';
import { BackupError } from '../errors';
import type { Logger } from '../logger';
import type { RealRestoreReport, RestoreReport } from '../restore-shared/report';
import { listRemoteSets } from '../upload/remote-catalog';
import {
	fetchRemoteSet,
	restoreSet,
	restoreTestSet,
	type DatabaseRestoreServer,
	type FetchedSet,
	type FilesRestoreServer,
} from './by-engine';

export interface RestorePointTestRequest {
	/** The backups folder, laid out as <folder>/<environment>/<backupId>/ (or give `sets`). */
	backupsFolder?: string;
	environment: string;
	/** A restorePointId; empty or 'latest' for the newest restore point with both sets. */
	restorePointId?: string;
	/** The restore point's sets, already found (e.g. downloaded by fetchRemoteRestorePoint). */
	sets?: RestorePointSets;
	/** Where the database set is restored (its engine must be the set's). */
	databaseServer: DatabaseRestoreServer;
	/** Where the files set is restored (a scratch folder); default: the system's temporary folder. */
	filesServer?: FilesRestoreServer;
	keepOnFailure: boolean;
	log: Logger;
	signal?: AbortSignal;
}

/**
 * A restore point's report: a RestoreReport (so the HTML report renders it) whose backupId is the
 * restorePointId, whose checks are the pairing checks then each part's checks prefixed
 * "database: " / "files: ", and whose times and bytes are the sum of the parts' (the RTO of
 * restoring both, one after the other). Each part's own report is in `parts`.
 */
export interface RestorePointReport extends RestoreReport {
	restorePointId: string;
	parts: { database: RestoreReport; files: RestoreReport };
}

/** The two sets of a restore point in a backups folder. */
export interface RestorePointSets {
	restorePointId: string;
	database: CatalogEntry;
	files: CatalogEntry;
}

/**
 * Finds the sets of a restore point: the one named, or the newest one with both a database and a
 * files set. A restore point with a half missing is an error that names it and the missing half.
 */
export async function findRestorePoint(
	backupsFolder: string,
	environment: string,
	restorePointId?: string,
): Promise<RestorePointSets> {
	const folder = resolve(backupsFolder.trim());
	const env = checkEnvironmentName(environment);
	const { sets } = await listSets(folder, env);
	return pickRestorePoint(sets, folder, env, restorePointId);
}

/** The restore point of a set TOTVS Dump made (in <backups folder>/<environment>/<backupId>): its other set is beside it. */
export const findRestorePointBeside = (setFolder: string, restorePointId: string) =>
	findRestorePoint(dirname(dirname(resolve(setFolder))), basename(dirname(resolve(setFolder))), restorePointId);

/** The restore point among `sets` (of environment `env` in `folder`): the one named, or the newest whole one. */
export function pickRestorePoint(
	sets: CatalogEntry[],
	folder: string,
	env: string,
	restorePointId?: string,
): RestorePointSets {
	const points = new Map<string, { database?: CatalogEntry; files?: CatalogEntry }>();
	for (const set of sets) {
		const id = set.manifest.restorePointId;
		if (!id) continue;
		const point = points.get(id) ?? {};
		point[set.manifest.component] = set;
		points.set(id, point);
	}
	const wanted = restorePointId?.trim();
	const where = `${folder}/${env}`;
	if (wanted && wanted !== 'latest') {
		const point = points.get(wanted);
		if (!point)
			throw new BackupError(
				'SET_NOT_FOUND',
				`Restore point ${wanted} has no set in ${where}`,
				'Check the restore point ID (TOTVS Dump returns it as restorePointId) and the backups folder.',
			);
		if (!point.database || !point.files) throw halfMissing(wanted, point, where);
		return { restorePointId: wanted, database: point.database, files: point.files };
	}
	// Ids sort by time (environment-yyyymmddThhmmssZ-rp-…).
	const ids = [...points.keys()].sort().reverse();
	const complete = ids.find((id) => points.get(id)!.database && points.get(id)!.files);
	if (!complete)
		throw ids.length
			? halfMissing(ids[0], points.get(ids[0])!, where, ' (no restore point of this environment has both sets)')
			: new BackupError(
					'SET_NOT_FOUND',
					`No restore point of environment "${env}" in ${folder}`,
					'Make one with TOTVS Dump (Database + Files), or point at the folder that holds its sets.',
				);
	const point = points.get(complete)!;
	return { restorePointId: complete, database: point.database!, files: point.files! };
}

function halfMissing(
	id: string,
	point: { database?: CatalogEntry; files?: CatalogEntry },
	where: string,
	tail = '',
): BackupError {
	const has = point.database ?? point.files!;
	const missing = point.database ? 'files' : 'database';
	return new BackupError(
		'SET_NOT_FOUND',
		`Restore point ${id} is incomplete in ${where}: its ${missing} set is missing (only the ${has.manifest.component} set ${has.backupId} is there)${tail}`,
		missing === 'files'
			? 'The files half was not made (see that Dump run) or not copied here: copy it back from a destination, or make a new restore point. The database set can still be restore-tested alone.'
			: 'A files set is never made without its database: the database set was removed or not copied here. Copy it back from a destination, or make a new restore point.',
	);
}

/**
 * Restore Test of a restore point: the database set on `databaseServer`, then the files set in a
 * scratch folder, each with its own checks, and the pairing checks: both sets carry the same
 * restorePointId, both restored completely, the database finished before the files started (as
 * TOTVS Dump takes them). Errors of the environment (no server, cancel) are thrown.
 */
export async function restoreTestRestorePoint(request: RestorePointTestRequest): Promise<RestorePointReport> {
	const sets =
		request.sets ?? (await findRestorePoint(request.backupsFolder ?? '', request.environment, request.restorePointId));
	const common = { keepOnFailure: request.keepOnFailure, log: request.log, signal: request.signal };
	request.log.info(
		`Restore point ${sets.restorePointId}: testing database set ${sets.database.backupId}, then files set ${sets.files.backupId}`,
	);
	const database = await restoreTestSet({ folder: sets.database.folder, server: request.databaseServer, ...common });
	const files = await restoreTestSet({
		folder: sets.files.folder,
		server: request.filesServer ?? { engine: 'protheus-files' },
		...common,
	});
	const checks = [
		...pairingChecks(sets, database, files),
		...prefixed('database', database.checks),
		...prefixed('files', files.checks),
	];
	return {
		restorePointId: sets.restorePointId,
		backupId: sets.restorePointId,
		passed: database.passed && files.passed && checks.every((c) => c.ok || c.notRun),
		restoreMs: database.restoreMs + files.restoreMs,
		checksMs: database.checksMs + files.checksMs,
		restoredBytes: database.restoredBytes + files.restoredBytes,
		database: database.database,
		kept: database.kept || files.kept,
		checks,
		parts: { database, files },
	};
}

const prefixed = (part: string, checks: CheckResult[]) => checks.map((c) => ({ ...c, name: `${part}: ${c.name}` }));

function pairingChecks(sets: RestorePointSets, database: RestoreReport, files: RestoreReport): CheckResult[] {
	const db = sets.database.manifest;
	const fs = sets.files.manifest;
	const ids = `${db.backupId} and ${fs.backupId}`;
	return [
		db.restorePointId === sets.restorePointId && fs.restorePointId === sets.restorePointId
			? check('restore point', true, sets.restorePointId, sets.restorePointId, `${ids} share the restore point`)
			: check(
					'restore point',
					false,
					sets.restorePointId,
					`${db.restorePointId} / ${fs.restorePointId}`,
					`${ids} do not share the restore point`,
				),
		database.passed && files.passed
			? check('both restored', true, 'database and files restored and checked', 'both passed', `${ids} passed`)
			: check(
					'both restored',
					false,
					'database and files restored and checked',
					`database ${database.passed ? 'passed' : 'FAILED'}, files ${files.passed ? 'passed' : 'FAILED'}`,
					'A restore point is usable only when both halves are: see the failed checks below',
				),
		db.finishedAt <= fs.startedAt
			? check(
					'order',
					true,
					'the database taken before the files',
					`database finished ${db.finishedAt}, files started ${fs.startedAt}`,
					'As TOTVS Dump takes a restore point: the RPO and dictionaries are read right after the database',
				)
			: check(
					'order',
					false,
					'the database taken before the files',
					`database finished ${db.finishedAt}, files started ${fs.startedAt}`,
					'The manifests record another order than TOTVS Dump uses: the sets may have been mixed up',
				),
	];
}

/** A restore point downloaded from a destination: both halves verified locally (the files with their chain). */
export interface FetchedRestorePoint {
	sets: RestorePointSets;
	database: FetchedSet;
	files: FetchedSet;
	destination: string;
	downloadedBytes: number;
	downloadMs: number;
	/** Removes both downloads (or keeps them); returns where the files set was kept. */
	finish(keep: boolean): Promise<string | undefined>;
}

/**
 * Finds a restore point on a destination (the one named, or the newest with both sets) and
 * downloads its database set (for the engine of `databaseServer`, with its chain) and its files
 * set with its chain, each verified. A half missing on the destination is an error naming it.
 */
export async function fetchRemoteRestorePoint(
	destination: Destination,
	databaseServer: DatabaseRestoreServer,
	filesServer: FilesRestoreServer,
	choice: {
		environment: string;
		restorePointId?: string;
		stagingFolder?: string;
		logger?: Logger;
		signal?: AbortSignal;
	},
): Promise<FetchedRestorePoint> {
	const env = checkEnvironmentName(choice.environment);
	const where = destination.describe();
	const { sets } = await listRemoteSets(destination, env);
	const complete = sets.filter((s) => s.remoteStatus === 'complete');
	const point = pickRestorePoint(complete, where, env, choice.restorePointId);
	const common = {
		environment: env,
		stagingFolder: choice.stagingFolder,
		logger: choice.logger,
		signal: choice.signal,
	};
	const started = Date.now();
	const database = await fetchRemoteSet(destination, databaseServer, { ...common, backupId: point.database.backupId });
	let files: FetchedSet;
	try {
		files = await fetchRemoteSet(destination, filesServer, { ...common, backupId: point.files.backupId });
	} catch (error) {
		await database.finish(false);
		throw error;
	}
	const local = (entry: CatalogEntry, fetched: FetchedSet): CatalogEntry => ({ ...entry, folder: fetched.folder });
	return {
		sets: {
			restorePointId: point.restorePointId,
			database: local(point.database, database),
			files: local(point.files, files),
		},
		database,
		files,
		destination: where,
		downloadedBytes: database.downloadedBytes + files.downloadedBytes,
		downloadMs: Date.now() - started,
		finish: async (keep) => {
			await database.finish(keep);
			return files.finish(keep);
		},
	};
}

export interface RestorePointRestoreRequest {
	sets: RestorePointSets;
	databaseServer: DatabaseRestoreServer;
	filesServer?: FilesRestoreServer;
	/** The database to restore into, and its guards (as Restore Database). */
	database: { target: string; replaceExisting: boolean; allowSourceDatabase: boolean };
	/** The folder the tree is restored into, and whether a non-empty one is replaced. */
	files: { target: string; replace: boolean };
	keepOnFailure: boolean;
	log: Logger;
	signal?: AbortSignal;
}

export interface RestorePointRestoreReport extends RealRestoreReport {
	restorePointId: string;
	/** The files part: null when the database failed and the files were left alone. */
	parts: { database: RealRestoreReport; files: RealRestoreReport | null };
}

/**
 * Real recovery of a restore point: the database first; the files only if the database was
 * restored and passed its checks (a tree without its database is not the pair TDN asks for).
 */
export async function restoreRestorePoint(request: RestorePointRestoreRequest): Promise<RestorePointRestoreReport> {
	const { sets } = request;
	const common = { keepOnFailure: request.keepOnFailure, log: request.log, signal: request.signal };
	request.log.info(
		`Restore point ${sets.restorePointId}: restoring database set ${sets.database.backupId}, then files set ${sets.files.backupId}`,
	);
	const database = await restoreSet({
		folder: sets.database.folder,
		server: request.databaseServer,
		...request.database,
		...common,
	});
	const files = database.passed
		? await restoreSet({
				folder: sets.files.folder,
				server: request.filesServer ?? { engine: 'protheus-files' },
				target: request.files.target,
				replaceExisting: request.files.replace,
				allowSourceDatabase: false,
				...common,
			})
		: null;
	const skipped = check(
		'files',
		false,
		'the files restored after the database',
		'not attempted',
		'The database restore failed, so the files were left as they were',
	);
	const checks = [...prefixed('database', database.checks), ...(files ? prefixed('files', files.checks) : [skipped])];
	return {
		restorePointId: sets.restorePointId,
		backupId: sets.restorePointId,
		passed: database.passed && !!files?.passed,
		restoreMs: database.restoreMs + (files?.restoreMs ?? 0),
		checksMs: database.checksMs + (files?.checksMs ?? 0),
		restoredBytes: database.restoredBytes + (files?.restoredBytes ?? 0),
		database: database.database,
		kept: database.kept || !!files?.kept,
		replaced: database.replaced || !!files?.replaced,
		checks,
		parts: { database, files },
	};
}
