import { constants } from 'node:fs';
import { access, chmod, mkdir, stat, statfs } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BackupError, systemErrorCode } from '../errors';

/**
 * The local or network folder where sets are written. The default sits in n8n's own files
 * folder (~/.n8n-files, where n8n 2.x lets its Read/Write File nodes reach), so reports and
 * manifests stay reachable from ordinary n8n nodes.
 */
export function defaultStagingFolder(env: NodeJS.ProcessEnv = process.env): string {
	const userFolder = env.N8N_USER_FOLDER || homedir();
	return join(userFolder, '.n8n-files', 'totvs-backups');
}

/**
 * Resolves and checks the staging folder. A folder the user named must already exist: if a
 * network share is not mounted, creating the path would silently fill the local disk instead.
 * Only the default folder is created on demand.
 */
export async function prepareStagingFolder(configured: string | undefined): Promise<string> {
	const folder = configured?.trim() ? resolve(configured.trim()) : defaultStagingFolder();
	// Dumps hold the company's data: the folders we create are the n8n user's only.
	if (!configured?.trim()) {
		await mkdir(folder, { recursive: true, mode: 0o700 });
		// Made wider by an older version (0750): the default folder is ours, private now. Best effort.
		await chmod(folder, 0o700).catch(() => undefined);
	}
	let info;
	try {
		info = await stat(folder);
	} catch (error) {
		throw stagingError(error, folder);
	}
	if (!info.isDirectory())
		throw new BackupError(
			'STAGING_FOLDER',
			`Staging folder ${folder} is not a folder`,
			'Set "Staging Folder" to a folder (a local path or a mounted network share).',
		);
	try {
		await access(folder, constants.W_OK | constants.X_OK);
	} catch (error) {
		throw stagingError(error, folder);
	}
	return folder;
}

export async function freeBytes(folder: string): Promise<number> {
	const fs = await statfs(folder);
	return fs.bavail * fs.bsize;
}

/** Turns a filesystem error met in the staging folder into what the user should do. */
export function stagingError(error: unknown, folder: string, doing = 'using'): BackupError {
	const code = systemErrorCode(error);
	const detail = (error as Error)?.message ?? String(error);
	switch (code) {
		case 'ENOENT':
			return new BackupError(
				'STAGING_FOLDER',
				`Staging folder ${folder} does not exist`,
				'Create the folder, or mount the network share, or fix "Staging Folder". It is not created automatically so that an unmounted share never fills the local disk.',
				{ cause: error },
			);
		case 'EACCES':
		case 'EPERM':
		case 'EROFS':
			return new BackupError(
				'STAGING_FOLDER',
				`Cannot write to staging folder ${folder} (${code})`,
				'Give the user that runs n8n write permission on the folder, or choose another "Staging Folder".',
				{ cause: error },
			);
		case 'ENOSPC':
		case 'EDQUOT':
			return new BackupError(
				'DISK_FULL',
				`No space left in staging folder ${folder} while ${doing} it`,
				'Free space on that disk or choose a staging folder on a larger one. The unfinished backup set was removed; earlier sets were not touched.',
				{ cause: error },
			);
		default:
			return new BackupError(
				'STAGING_FOLDER',
				`Error ${doing} staging folder ${folder}: ${detail}`,
				'Check the folder, its disk and its permissions.',
				{ cause: error },
			);
	}
}
