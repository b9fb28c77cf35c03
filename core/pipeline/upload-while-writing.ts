/**
 * The nightly window with its transfer overlapped: while a dump writes each artifact into the
 * staging folder, the same bytes are sent to the destination under the artifact's partial name
 * (`.name.partial`), following the file as it grows. Nothing gets a final name here. The usual
 * Verify and `uploadSet` come after, unchanged: for each artifact the put finds the partial,
 * proves the whole remote copy by its SHA-256 against the set's recorded hash, and only then
 * renames it (a copy that does not match is deleted and sent again from byte 0); the manifest
 * is uploaded last, as always. So a set that failed its Verify, or whose upload was never run,
 * is never complete on the destination: at most partials and the in-progress marker, which
 * Prune may clean.
 *
 * While it sends, it holds the environment's lock and has written the in-progress marker into
 * the set's folder, which must not have existed before (so a failed dump removes that folder,
 * and only it). Whatever goes wrong while following (no lock, a refused write, a cut link)
 * only stops the early send: the dump goes on, and the upload afterwards sends what is missing.
 * Destinations that cannot follow a growing file (only SFTP can, over ssh2) are left alone.
 */
import { IN_PROGRESS_MARKER } from '../backup-set/manifest';
import type { Destination } from '../destinations';
import { withEnvironmentLock, type EnvironmentLock } from '../locking/environment-lock';
import { silentLogger, type Logger } from '../logger';
import { remoteSetFolder } from '../upload/remote-catalog';
import type { LockSettings } from '../upload/set-transfer';
import { withArtifactWatcher, type ArtifactFileInfo, type GrowingFile } from './growing-file';

/** A destination that can send a file while it is written, into its partial name only. */
export interface GrowingFileSender {
	sendGrowing(remotePath: string, growing: GrowingFile, signal?: AbortSignal): Promise<void>;
}

export function sendsGrowingFiles(destination: Destination): destination is Destination & GrowingFileSender {
	return typeof (destination as Partial<GrowingFileSender>).sendGrowing === 'function';
}

export interface UploadWhileWritingOptions {
	/** The environment the sets are written for (its lock is held while sending). */
	environment: string;
	lock: LockSettings;
	logger?: Logger;
	signal?: AbortSignal;
}

/**
 * Runs `write` (a makeBackup) while the artifacts it writes are sent to `destination` under
 * their partial names; resolves with `write`'s result once those sends have ended too. Follow it
 * with Verify and uploadSet: they prove each partial and give it its final name.
 */
export async function uploadWhileWriting<T>(
	destination: Destination,
	options: UploadWhileWritingOptions,
	write: () => Promise<T>,
): Promise<T> {
	if (!sendsGrowingFiles(destination)) return write();
	const logger = options.logger ?? silentLogger;
	const started: ArtifactFileInfo[] = [];
	let wake = () => {};
	const writing = withArtifactWatcher(
		{
			artifactStarted: (info) => {
				started.push(info);
				wake();
			},
		},
		write,
	);
	let writingEnded = false;
	const ended = writing.then(
		() => true,
		() => false,
	);
	void ended.then(() => {
		writingEnded = true;
		wake();
	});

	const following = withEnvironmentLock(
		options.lock.via ?? destination,
		options.environment,
		options.lock.owner,
		{ logger, ...options.lock.options, purpose: 'upload' },
		async (lock) => {
			const claimed = new Map<string, boolean>();
			const sends: Array<Promise<void>> = [];
			for (let next = 0; ;) {
				while (next < started.length) {
					const info = started[next++];
					if (!claimed.has(info.backupId))
						claimed.set(info.backupId, await claimSetFolder(destination, lock, info, options).catch(() => false));
					if (claimed.get(info.backupId))
						sends.push(follow(destination, info, options.signal, logger, () => writingEnded));
				}
				if (writingEnded) break;
				await new Promise<void>((resolve) => {
					wake = resolve;
					if (writingEnded || next < started.length) resolve();
				});
			}
			await Promise.all(sends);
			if (!(await ended)) {
				// The set was not kept: nor is what was sent of it (its folder did not exist before).
				for (const [backupId, ours] of claimed) {
					if (!ours) continue;
					await destination
						.removeFolder(remoteSetFolder(options.environment, backupId))
						.catch((error: unknown) =>
							logger.warn(
								`Could not remove the partial copy of ${backupId} from ${destination.describe()}: ${(error as Error).message}. Prune removes it (it carries the in-progress marker).`,
							),
						);
				}
			}
		},
	);
	try {
		return await writing;
	} finally {
		await following.catch((error: unknown) =>
			logger.info(
				`Not sending while dumping to ${destination.describe()} (${(error as Error).message}); the upload sends the set afterwards.`,
			),
		);
	}
}

/**
 * The in-progress marker in a new set folder on the destination, under the lock; false when
 * the folder exists already (it would not be ours alone to remove) or the marker cannot be made.
 */
async function claimSetFolder(
	destination: Destination,
	lock: EnvironmentLock,
	info: ArtifactFileInfo,
	options: UploadWhileWritingOptions,
): Promise<boolean> {
	if (info.environment !== options.environment) return false;
	const folder = remoteSetFolder(info.environment, info.backupId);
	const siblings = await destination.list(info.environment);
	if (siblings.some((entry) => entry.name === info.backupId)) return false;
	await lock.assertHeld();
	return destination.createExclusive(
		`${folder}/${IN_PROGRESS_MARKER}`,
		JSON.stringify({ backupId: info.backupId, owner: options.lock.owner, startedAt: new Date().toISOString() }),
	);
}

/** Sends one artifact as it grows; a failure is logged (the upload afterwards sends it), never thrown. */
async function follow(
	destination: Destination & GrowingFileSender,
	info: ArtifactFileInfo,
	signal: AbortSignal | undefined,
	logger: Logger,
	writingEnded: () => boolean,
): Promise<void> {
	const remotePath = `${remoteSetFolder(info.environment, info.backupId)}/${info.path}`;
	try {
		await destination.sendGrowing(remotePath, info.growing, signal);
		logger.debug(`Sent ${info.path} of ${info.backupId} to ${destination.describe()} while it was written`);
	} catch (error) {
		if (info.growing.failed !== undefined || writingEnded()) return;
		logger.info(
			`Stopped sending ${info.path} of ${info.backupId} to ${destination.describe()} while it was written (${(error as Error).message}); the upload sends it afterwards.`,
		);
	}
}
