import { rm } from 'node:fs/promises';
import { checkEnvironmentName } from '../../backup-set/ids';
import type { Destination } from '../../destinations';
import { BackupError } from '../../errors';
import { prepareStagingFolder } from '../../location/staging-folder';
import type { Logger } from '../../logger';
import { remoteSetFolder } from '../../upload/remote-catalog';
import { downloadSet } from '../../upload/set-transfer';
import type { VerifyOptions } from '../../verify/verify-set';
import { downloadFinisher, downloadNotVerified, makeDownloadFolder, type FetchedRemoteSet } from './download-folder';

export interface FetchRemoteSetOptions {
	environment: string;
	/** A backupId; empty or 'latest' for the newest complete database set of the environment. */
	backupId?: string;
	/** Local staging folder (empty: the default one). The set is downloaded into a private folder inside it. */
	stagingFolder?: string;
	verify?: VerifyOptions;
	logger?: Logger;
	signal?: AbortSignal;
}

/**
 * Downloads a PostgreSQL database set from a destination and verifies it, for a restore test
 * of the off-site copy. It always lands in a fresh private folder inside the staging folder:
 * a set of the same ID already in the staging folder (the one Dump wrote) is neither reused —
 * the remote copy is what is tested — nor touched, and removing the download removes only
 * what was downloaded. A copy that fails verification is removed and reported before anything
 * is restored.
 */
export async function fetchRemoteDatabaseSet(
	destination: Destination,
	options: FetchRemoteSetOptions,
): Promise<FetchedRemoteSet> {
	const environment = checkEnvironmentName(options.environment);
	const staging = await prepareStagingFolder(options.stagingFolder);
	const work = await makeDownloadFolder(staging);
	const where = destination.describe();
	try {
		const result = await downloadSet(destination, {
			environment,
			backupId: options.backupId?.trim() || 'latest',
			component: 'database',
			stagingFolder: work,
			verify: options.verify,
			logger: options.logger,
			signal: options.signal,
		});
		const { manifest } = result;
		const backupId = manifest.backupId;
		const remotePath = remoteSetFolder(environment, backupId);
		if (manifest.engine !== 'postgres' || manifest.component !== 'database')
			throw new BackupError(
				'SET_NOT_FOUND',
				`Backup set ${backupId} on ${where} is a ${manifest.engine} ${manifest.component} set, not a PostgreSQL database set`,
				"Restore Test restores PostgreSQL database sets: choose one of those (the List operation of TOTVS Upload shows each set's engine and component).",
			);
		if (!result.verification.ok) throw downloadNotVerified(backupId, where, remotePath, result.verification);
		return {
			folder: result.folder,
			backupId,
			destination: where,
			remotePath,
			downloadedBytes: result.downloadedBytes,
			downloadMs: result.durationMs,
			finish: downloadFinisher({ work, staging, environment, backupIds: [backupId], target: backupId }),
		};
	} catch (error) {
		await rm(work, { recursive: true, force: true });
		throw error;
	}
}
