/**
 * Texts that several nodes (or several operations of one node) show: error hints (the
 * `description` of a NodeOperationError, what the user should do) and parameter notices. One
 * wording, changed in one place.
 */

/** Where backup sets go when no staging folder is given (core/location resolves it). */
export const DEFAULT_STAGING_FOLDER = '~/.n8n-files/totvs-backups under the n8n user folder';
/** An empty Staging Folder means the default: the placeholder says so rather than show an example path. */
export const STAGING_FOLDER_PLACEHOLDER = 'Empty: ~/.n8n-files/totvs-backups';
/** A required folder of sets: an example. */
export const BACKUPS_FOLDER_PLACEHOLDER = 'e.g. /mnt/backup/totvs';
export const PG_CLIENT_FOLDER_PLACEHOLDER = '/usr/lib/postgresql/16/bin';
export const SQLSERVER_FOLDER_PLACEHOLDER = 'D:\\Backup\\n8n or \\\\filer\\totvs-backup';
export const SQLSERVER_MOUNT_PLACEHOLDER = '/mnt/sqlbackup';

/**
 * A credential Test that passed: n8n's dialog shows only "Connection tested successfully", so what
 * the test found (server version, client tool, folder) also goes to n8n's log at info level.
 */
export function testPassed(
	ctx: { logger?: { info(message: string): void } },
	credential: string,
	message: string,
): { status: 'OK'; message: string } {
	ctx.logger?.info(`${credential} credential test: ${message}`);
	return { status: 'OK', message };
}

/** "Backup Set Folder": which node's item fills it by default. */
export const setFolderDescription = (fromNodes: string) =>
	`Folder of the backup set, the one holding its manifest file. The default takes it from the ${fromNodes} item.`;

/** Hint when "Backup Set Folder" is empty: connect the node that makes the item, or type the folder. */
export const noSetFolderHint = (connect: string) =>
	`Connect ${connect} before this node, or set "Backup Set Folder" to the folder that holds manifest.json.`;

export const NO_ENVIRONMENT_HINT = 'Set "Environment" to the environment name used in TOTVS Dump (for example "prod").';

/** A local set failed verification. */
export const DAMAGED_SET_HINT =
	'Do not rely on this set. Make a new backup; keep this one for investigation (disk, network copy or storage errors damage files).';

/** A set downloaded from a destination failed verification. */
export const DAMAGED_REMOTE_COPY_HINT =
	'The copy on the destination is damaged (or was changed). Do not rely on it: download another set, and upload a good one again.';

/**
 * Part of a node's subtitle expression showing a parameter's value by its label:
 * `($parameter["p"] === "a" ? "A" : … : "")`. n8n evaluates a subtitle as an expression, and a raw
 * `$parameter["p"]` shows option values such as "googleDrive".
 */
export function labelOf(parameter: string, labels: Record<string, string>): string {
	const value = `$parameter[${JSON.stringify(parameter)}]`;
	const choices = Object.entries(labels).map(
		([v, label]) => `${value} === ${JSON.stringify(v)} ? ${JSON.stringify(label)} : `,
	);
	return `(${choices.join('')}"")`;
}
