import type { IExecuteFunctions } from 'n8n-workflow';
import { readSet } from '../../core/backup-set/catalog';
import { manifestOf, type Manifest } from '../../core/backup-set/manifest';
import { connectSqlServer } from '../../core/sources/sqlserver/mssql-runner';
import { checkSharedFolder, isInShared, serverPathFor, type SharedFolder } from '../../core/sources/sqlserver/shared-folder';
import type { SqlServerVerifyAccess } from '../../core/sources/sqlserver/verify';
import { SQLSERVER_CREDENTIAL, sqlServerConnection } from '../shared/sqlserver-credential';

/**
 * The SQL Server that runs RESTORE HEADERONLY/VERIFYONLY on the set, or undefined when the user
 * did not ask for it (the check is then reported as not run) or the set is not a SQL Server one.
 * Empty folder parameters mean the folders TOTVS Dump recorded in the set's manifest.
 */
export async function sqlServerVerifyAccess(ctx: IExecuteFunctions, itemIndex: number, setFolder: string): Promise<SqlServerVerifyAccess | undefined> {
	if (ctx.getNodeParameter('checkWithSqlServer', itemIndex, false) !== true) return undefined;
	const recorded = await recordedSharedFolder(setFolder);
	if (!recorded) return undefined;
	const shared = checkSharedFolder({
		serverFolder: String(ctx.getNodeParameter('sqlServerFolder', itemIndex, '') ?? '').trim() || recorded.serverFolder,
		localFolder: String(ctx.getNodeParameter('sqlServerLocalFolder', itemIndex, '') ?? '').trim() || recorded.localFolder,
	});
	const connection = sqlServerConnection(await ctx.getCredentials(SQLSERVER_CREDENTIAL, itemIndex));
	return { shared, connect: () => connectSqlServer(connection) };
}

/** The shared folder a SQL Server set was made in; undefined for other engines or an unreadable manifest (verifyLocalSet reads it again and reports why). */
async function recordedSharedFolder(setFolder: string): Promise<{ serverFolder: string; localFolder: string } | undefined> {
	const manifest = await readSet(setFolder).catch(() => undefined);
	if (manifest?.engine !== 'sqlserver') return undefined;
	const { serverFolder, localFolder } = manifestOf(manifest, 'sqlserver').source;
	return { serverFolder, localFolder };
}

/** "<file as n8n sees it> (SQL Server read <its path>)": names the backup file a failed VERIFYONLY was about. */
export function sqlServerBackupFile(folder: string, manifest: Manifest, shared: SharedFolder): string | undefined {
	const artifact = manifest.artifacts.find((a) => a.kind === 'sqlserver-backup');
	if (!artifact) return undefined;
	const localPath = `${folder.replace(/[\\/]+$/, '')}/${artifact.path}`;
	return isInShared(localPath, shared) ? `${localPath} (SQL Server read ${serverPathFor(localPath, shared)})` : localPath;
}
