import { randomBytes } from 'node:crypto';
import { makeBackup, type BackupResult } from './backup';
import { BackupError, isBackupError } from './errors';
import { checkEnvironmentName, compactUtc } from './backup-set/ids';
import type { BackupType } from './backup-set/manifest';
import { prepareStagingFolder } from './location/staging-folder';
import type { Logger } from './logger';
import type { FilesConnection, FilesDumpOptions } from './sources/protheus-files/files-source';
import type { Source } from './sources/source';

export interface RestorePointRequest<C, O> {
	database: { source: Source<C, O>; connection: C; options: O };
	files: { source: Source<FilesConnection, FilesDumpOptions>; options: FilesDumpOptions; type: BackupType };
	environment: string;
	stagingFolder?: string;
	log: Logger;
	signal?: AbortSignal;
}

export interface RestorePointResult {
	restorePointId: string;
	database: BackupResult;
	/** The files set, or why it could not be made (the database set stays valid). */
	files: BackupResult | BackupError;
}

/** prod-20261126T020000Z-rp-3fa9c1: sorts by time like backupIds; the suffix keeps two runs in one second apart. */
export const makeRestorePointId = (environment: string, at: Date) =>
	`${environment}-${compactUtc(at)}-rp-${randomBytes(3).toString('hex')}`;

/**
 * One restore point: the database set, then the Protheus files set, both carrying the same
 * restorePointId in their manifests.
 *
 * Order and failures, as a TOTVS sysadmin reads a restore point: the database is the part the
 * environment cannot live without, and the RPO / dictionaries must match it, so it is dumped
 * first and the files are read right after it (their pre-flight runs before the dump, so a
 * mistyped folder fails at once with nothing written). When the database fails this throws
 * and no files set is made: files alone are not a restore point, and an orphan set would only
 * be mistaken for one. When the files fail, the database set is already complete and
 * verifiable on its own, so it is kept (we never delete a good backup) and the files' error is
 * returned beside it, for the node to report as the restore point's missing half.
 */
export async function makeRestorePoint<C, O>(request: RestorePointRequest<C, O>): Promise<RestorePointResult> {
	const environment = checkEnvironmentName(request.environment);
	const restorePointId = makeRestorePointId(environment, new Date());
	const common = {
		environment,
		stagingFolder: request.stagingFolder,
		log: request.log,
		signal: request.signal,
		restorePointId,
	};
	const filesRequest = { ...common, connection: null, options: request.files.options, type: request.files.type };
	request.log.info(`Restore point ${restorePointId}: database set first, then the files set`);
	// Files pre-flight (folders, appserver.ini, chain base): fail in seconds, not after an hour of pg_dump.
	try {
		const stagingFolder = await prepareStagingFolder(request.stagingFolder);
		await (await request.files.source.prepare({ ...filesRequest, stagingFolder })).close();
	} catch (error) {
		throw restorePointError(
			error,
			`; restore point ${restorePointId} not made`,
			'Nothing was written: the files are checked before the database is dumped.',
		);
	}
	let database: BackupResult;
	try {
		database = await makeBackup(request.database.source, {
			...common,
			connection: request.database.connection,
			options: request.database.options,
			type: 'full',
		});
	} catch (error) {
		throw restorePointError(
			error,
			`; restore point ${restorePointId} not made (no files set without its database)`,
			'The files set was not made: a restore point needs its database. Run again once the database side is fixed.',
		);
	}
	let files: BackupResult | BackupError;
	try {
		files = await makeBackup(request.files.source, filesRequest);
	} catch (error) {
		const id = database.manifest.backupId;
		files = restorePointError(
			error,
			`; restore point ${restorePointId} is incomplete`,
			`Database set ${id} of this restore point is complete and valid on its own. Run again to make a whole restore point.`,
		);
		request.log.warn(
			`Restore point ${restorePointId} is incomplete: database set ${id} was made, the files set was not: ${files.message}`,
		);
	}
	return { restorePointId, database, files };
}

/** The error of one half, saying what it means for the restore point. */
function restorePointError(error: unknown, messageTail: string, consequence: string): BackupError {
	const original = isBackupError(error)
		? error
		: new BackupError('DUMP_FAILED', error instanceof Error ? error.message : String(error), '');
	return new BackupError(original.code, original.message + messageTail, `${original.hint} ${consequence}`.trim(), {
		cause: error,
	});
}
