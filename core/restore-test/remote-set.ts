import { chmod, mkdir, mkdtemp, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkEnvironmentName } from '../backup-set/ids';
import type { Destination } from '../destinations';
import { BackupError, systemErrorCode } from '../errors';
import { prepareStagingFolder } from '../location/staging-folder';
import type { Logger } from '../logger';
import { remoteSetFolder } from '../upload/remote-catalog';
import { downloadSet } from '../upload/set-transfer';
import type { Verification } from '../checks/check';
import type { VerifyOptions } from '../verify/verify-set';

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

export interface FetchedRemoteSet {
	/** The downloaded, verified set folder. */
	folder: string;
	backupId: string;
	destination: string;
	remotePath: string;
	downloadedBytes: number;
	downloadMs: number;
	/**
	 * Call once when done with the set: removes the downloaded copy, or with `keep` moves it to
	 * `<staging>/<environment>/<backupId>` (left where it is when that folder already exists).
	 * Returns the kept folder, or undefined when removed.
	 */
	finish(keep: boolean): Promise<string | undefined>;
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

/** A private download folder inside `staging`, readable by the folder's group (SQL Server's account may need to read it). */
export async function makeDownloadFolder(staging: string): Promise<string> {
	const work = await mkdtemp(join(staging, '.restore-test-download-'));
	await chmod(work, 0o750);
	return work;
}

/**
 * `finish(keep)` of a download folder holding `<work>/<environment>/<id>` for each of
 * `backupIds`: removes it, or with `keep` moves each set to `<staging>/<environment>/<id>` (a set
 * whose folder exists there already stays where it was downloaded). Returns where the `target`
 * set is kept, or undefined when removed. Runs once; later calls do nothing.
 */
export function downloadFinisher(d: {
	work: string;
	staging: string;
	environment: string;
	backupIds: string[];
	target: string;
}): (keep: boolean) => Promise<string | undefined> {
	let finished = false;
	return async (keep) => {
		if (finished) return undefined;
		finished = true;
		if (!keep) {
			await rm(d.work, { recursive: true, force: true });
			return undefined;
		}
		let kept: string | undefined;
		for (const backupId of d.backupIds) {
			const from = join(d.work, d.environment, backupId);
			const to = join(d.staging, d.environment, backupId);
			await mkdir(dirname(to), { recursive: true, mode: 0o750 });
			let at = to;
			try {
				await rename(from, to);
			} catch (error) {
				// A set of that ID is already there (Dump's, or an earlier download): leave both as they are.
				if (!['ENOTEMPTY', 'EEXIST'].includes(systemErrorCode(error) ?? '')) throw error;
				at = from;
			}
			if (backupId === d.target) kept = at;
		}
		for (const folder of [join(d.work, d.environment), d.work]) {
			await rmdir(folder).catch((error: unknown) => {
				if (!['ENOTEMPTY', 'EEXIST'].includes(systemErrorCode(error) ?? '')) throw error;
			});
		}
		return kept;
	};
}

/** A downloaded set that failed verification: nothing is restored from it. */
export function downloadNotVerified(
	backupId: string,
	where: string,
	remotePath: string,
	verification: Verification,
): BackupError {
	const failed = verification.checks.filter((c) => !c.ok && !c.notRun);
	return new BackupError(
		'VERIFY_FAILED',
		`Backup set ${backupId} downloaded from ${where} (${remotePath}) failed verification, nothing was restored: ${failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`,
		'The copy on the destination is damaged or was changed. Do not rely on it: upload a good copy of the set again (or make a new backup), then rerun the restore test.',
	);
}
