import type { IDisplayOptions, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { readSet } from '../../core/backup-set/catalog';
import type { Manifest } from '../../core/backup-set/manifest';
import { BackupError } from '../../core/errors';
import { connectSqlServer } from '../../core/sources/sqlserver';
import { checkSharedFolder, isInShared, serverPathFor, type SharedFolder } from '../../core/sources/sqlserver';
import { trustedRecordedFolder } from '../../core/sources/sqlserver';
import type { SqlServerAddress } from '../../core/sources/sqlserver';
import type { SqlRunner } from '../../core/sources/sqlserver';
import type { SqlServerVerifyAccess } from '../../core/sources/sqlserver';
import { SQLSERVER_FOLDER_PLACEHOLDER, SQLSERVER_MOUNT_PLACEHOLDER } from './hints';
import { SQLSERVER_CREDENTIAL, sqlServerConnection } from './sqlserver-credential';

/**
 * The SQL Server that runs RESTORE HEADERONLY/VERIFYONLY on the set, or undefined when the user
 * did not ask for it (the check is then reported as not run) or the set is not a SQL Server one.
 * Empty folder parameters mean the folders TOTVS Dump recorded in the set's manifest.
 */
export async function sqlServerVerifyAccess(
	ctx: IExecuteFunctions,
	itemIndex: number,
	setFolder: string,
): Promise<SqlServerVerifyAccess | undefined> {
	if (ctx.getNodeParameter('checkWithSqlServer', itemIndex, false) !== true) return undefined;
	const recorded = await recordedSharedFolder(setFolder);
	if (!recorded) return undefined;
	return { shared: sharedFolderOf(ctx, itemIndex, recorded), connect: await sqlServerConnector(ctx, itemIndex) };
}

/**
 * The shared folder as the node's "Backup Folder (SQL Server Path)" / "(Local Mount Path)"
 * parameters give it; an empty parameter means the folder TOTVS Dump recorded in the set. A set
 * (from a destination or a folder) records nothing here unless its manifest is signed by a trusted
 * key (its paths are then empty): the parameters must give the folder, or the item fails saying so.
 */
export function sharedFolderOf(ctx: IExecuteFunctions, itemIndex: number, recorded: SharedFolder): SharedFolder {
	const parameter = (name: string) => String(ctx.getNodeParameter(name, itemIndex, '') ?? '').trim();
	const serverFolder = parameter('sqlServerFolder') || recorded.serverFolder.trim();
	const localFolder = parameter('sqlServerLocalFolder') || recorded.localFolder.trim();
	const missing = [
		serverFolder ? '' : '"Backup Folder (SQL Server Path)"',
		localFolder ? '' : '"Backup Folder (Local Mount Path)"',
	].filter(Boolean);
	if (missing.length && !recorded.serverFolder.trim() && !recorded.localFolder.trim())
		throw new BackupError(
			'INVALID_INPUT',
			`Fill in ${missing.join(' and ')}: the set's manifest is not signed by a trusted key, so the SQL Server folder it records is not used`,
			'A manifest (on a destination, in a download or any folder) chooses no folder or server unless its signature verifies: give the shared backup folder as SQL Server sees it and as n8n sees it in those parameters (or sign sets with "Use Backup Keys" and trust the signing key).',
		);
	return checkSharedFolder({ serverFolder, localFolder });
}

/** Opens sessions on the SQL Server of the node's "TOTVS SQL Server" credential. */
export async function sqlServerConnector(ctx: IExecuteFunctions, itemIndex: number): Promise<() => Promise<SqlRunner>> {
	const connection = sqlServerConnection(await ctx.getCredentials(SQLSERVER_CREDENTIAL, itemIndex));
	return () => connectSqlServer(connection);
}

/**
 * The restore server of TOTVS Restore Test: sessions on its master database (RESTORE, DBCC,
 * ALTER and DROP DATABASE are server-wide, and the session must never sit in a database it
 * renames or drops, whatever database the credential names), and its address as the credential
 * gives it (to recognise the server a set was taken from).
 */
export async function sqlServerRestoreServer(
	ctx: IExecuteFunctions,
	itemIndex: number,
): Promise<{ connect: () => Promise<SqlRunner>; address: SqlServerAddress }> {
	const connection = sqlServerConnection(await ctx.getCredentials(SQLSERVER_CREDENTIAL, itemIndex));
	return {
		connect: () => connectSqlServer(connection, 'master'),
		address: {
			server: connection.server,
			port: connection.instance ? null : connection.port,
			instance: connection.instance || null,
		},
	};
}

/**
 * The shared folder a SQL Server set was made in, as its manifest records it only when a trusted
 * key signed it (else both paths empty: the parameters must give it); undefined for other
 * engines or an unreadable manifest (verifyLocalSet reads it again and reports why).
 */
async function recordedSharedFolder(setFolder: string): Promise<SharedFolder | undefined> {
	const manifest = await readSet(setFolder).catch(() => undefined);
	if (manifest?.engine !== 'sqlserver') return undefined;
	return trustedRecordedFolder(setFolder);
}

/** "<file as n8n sees it> (SQL Server read <its path>)": names the backup file a failed VERIFYONLY was about. */
export function sqlServerBackupFile(folder: string, manifest: Manifest, shared: SharedFolder): string | undefined {
	const artifact = manifest.artifacts.find((a) => a.kind === 'sqlserver-backup');
	if (!artifact) return undefined;
	const localPath = `${folder.replace(/[\\/]+$/, '')}/${artifact.path}`;
	return isInShared(localPath, shared)
		? `${localPath} (SQL Server read ${serverPathFor(localPath, shared)})`
		: localPath;
}

/** The shared folder's two paths, shown when `displayOptions` match; read by sharedFolderOf. */
export function sharedFolderProperties(displayOptions: IDisplayOptions): INodeProperties[] {
	return [
		{
			displayName: 'Backup Folder (SQL Server Path)',
			name: 'sqlServerFolder',
			type: 'string',
			displayOptions,
			default: '',
			placeholder: SQLSERVER_FOLDER_PLACEHOLDER,
			description:
				'The shared backup folder as SQL Server sees it. Leave empty to use the one TOTVS Dump recorded in the set: only when its manifest is signed by a trusted key (Use Backup Keys).',
		},
		{
			displayName: 'Backup Folder (Local Mount Path)',
			name: 'sqlServerLocalFolder',
			type: 'string',
			displayOptions,
			default: '',
			placeholder: SQLSERVER_MOUNT_PLACEHOLDER,
			description:
				'The same folder as mounted on the n8n host; the set must lie inside it. Leave empty to use the one TOTVS Dump recorded in the set: only when its manifest is signed by a trusted key (Use Backup Keys).',
		},
	];
}
