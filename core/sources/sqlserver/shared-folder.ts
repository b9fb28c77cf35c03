import { isAbsolute, relative, resolve, sep } from 'node:path';
import { BackupError } from '../../errors';
import { serverSeparator } from './tsql';

/**
 * One folder seen from two hosts: SQL Server writes and reads backups at `serverFolder`
 * (D:\Backup\n8n, \\filer\totvs or /var/opt/mssql/backup), n8n reaches the same files at
 * `localFolder` (a share or mount such as /mnt/sqlbackup).
 */
export interface SharedFolder {
	serverFolder: string;
	localFolder: string;
}

export function checkSharedFolder(shared: SharedFolder): SharedFolder {
	const serverFolder = shared.serverFolder.trim();
	const localFolder = shared.localFolder.trim();
	if (!serverFolder || !localFolder)
		throw new BackupError(
			'INVALID_INPUT',
			'SQL Server backups need the backup folder twice: as SQL Server sees it and as n8n sees it',
			'Share one folder between SQL Server\'s host and n8n\'s (an SMB share or an NFS/CIFS mount) and fill in both "Backup Folder (SQL Server Path)" and "Backup Folder (Local Mount Path)".',
		);
	if (!isAbsolute(localFolder))
		throw new BackupError(
			'INVALID_INPUT',
			`"${localFolder}" is not an absolute path on the n8n host`,
			'Give the full path of the mounted share, e.g. /mnt/sqlbackup.',
		);
	return { serverFolder, localFolder: resolve(localFolder) };
}

/** True when `localPath` lies in the shared folder (so SQL Server can reach it). */
export function isInShared(localPath: string, shared: SharedFolder): boolean {
	const rel = relative(resolve(shared.localFolder), resolve(localPath));
	return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The path SQL Server uses for a file n8n sees at `localPath` inside the shared folder. */
export function serverPathFor(localPath: string, shared: SharedFolder): string {
	if (!isInShared(localPath, shared))
		throw new BackupError(
			'INVALID_INPUT',
			`${localPath} is not inside the folder shared with SQL Server (${shared.localFolder})`,
			'SQL Server can only read and write files in the shared backup folder: keep the staging folder inside it, or copy the set there first.',
		);
	const rel = relative(resolve(shared.localFolder), resolve(localPath));
	if (!rel) return shared.serverFolder;
	const separator = serverSeparator(shared.serverFolder);
	const base = shared.serverFolder.endsWith(separator) ? shared.serverFolder.slice(0, -1) : shared.serverFolder;
	return `${base}${separator}${rel.split(sep).join(separator)}`;
}
