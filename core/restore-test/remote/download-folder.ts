import { chmod, mkdir, mkdtemp, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Verification } from '../../checks/check';
import type { Destination } from '../../destinations';
import { BackupError, systemErrorCode } from '../../errors';
import type { Logger } from '../../logger';
import { remoteSetFolder } from '../../upload/remote-catalog';
import { downloadSet } from '../../upload/set-transfer';
import type { VerifyOptions } from '../../verify/verify-set';

/**
 * What the engines' fetches from a destination share: the private download folder, what a
 * fetched set tells the caller, and how it is removed or kept afterwards.
 */

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
 * A private download folder inside `staging` (0700, whatever the umask): it holds the company's
 * data. SQL Server reads what is downloaded there as n8n's user (the same account, root in a
 * container, or a share whose server-side permissions grant it; docs/sqlserver.md).
 */
export async function makeDownloadFolder(staging: string): Promise<string> {
	const work = await mkdtemp(join(staging, '.restore-test-download-'));
	await chmod(work, 0o700);
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
			await mkdir(dirname(to), { recursive: true, mode: 0o700 });
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

/**
 * Downloads the sets of a chain into `work`, oldest first (each set's verification finds the sets
 * it builds on already there), and verifies each; a set that fails is reported before anything
 * is restored. Returns the folder of `target`, the bytes and the time.
 */
export async function downloadChain(
	destination: Destination,
	d: {
		work: string;
		environment: string;
		component: 'database' | 'files';
		chain: string[];
		target: string;
		verify?: VerifyOptions;
		logger?: Logger;
		signal?: AbortSignal;
	},
): Promise<{ folder: string; downloadedBytes: number; downloadMs: number }> {
	const started = Date.now();
	const where = destination.describe();
	let downloadedBytes = 0;
	let folder = '';
	for (const backupId of d.chain) {
		const result = await downloadSet(destination, {
			environment: d.environment,
			backupId,
			component: d.component,
			stagingFolder: d.work,
			verify: d.verify,
			logger: d.logger,
			signal: d.signal,
		});
		if (!result.verification.ok)
			throw downloadNotVerified(backupId, where, remoteSetFolder(d.environment, backupId), result.verification);
		downloadedBytes += result.downloadedBytes;
		if (backupId === d.target) folder = result.folder;
	}
	d.logger?.info(`Downloaded ${d.chain.length} set(s) of ${d.target}'s restore chain from ${where} into ${d.work}`);
	return { folder, downloadedBytes, downloadMs: Date.now() - started };
}
