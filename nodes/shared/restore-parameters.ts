import type { INodeProperties } from 'n8n-workflow';
import { destinationProperties } from './destination-parameters';
import {
	BACKUPS_FOLDER_PLACEHOLDER,
	DEFAULT_STAGING_FOLDER,
	STAGING_FOLDER_PLACEHOLDER,
	setFolderDescription,
} from './hints';
import { sharedFolderProperties } from './sqlserver-access';

/**
 * The parameters TOTVS Restore Test and TOTVS Restore share: which server restores, which set
 * (from the input item, a backups folder or a destination) and the options of pg_restore. Same
 * names in both nodes, so a workflow moved from one to the other keeps its settings.
 */

const fromFolder = { show: { setSource: ['folder'] } };
const fromDestination = { show: { setSource: ['destination'] } };
const chosenSet = { show: { setSource: ['folder', 'destination'] } };
const { destination, localFolder } = destinationProperties(fromDestination.show);

export const onPostgres = { show: { restoreServer: ['postgres'] } };
export const onSqlServer = { show: { restoreServer: ['sqlserver'] } };
/** In the Options collection: options that only pg_restore and the PostgreSQL checks use. */
const postgresOption = { show: { '/restoreServer': ['postgres'] } };

/** The operations of both nodes that restore a database (and so need a Restore Server). */
export const DATABASE_OPERATIONS = ['database', 'restoreTest', 'restorePoint'];
/** The operations that restore a whole restore point. */
export const RESTORE_POINT_OPERATIONS = ['restorePoint'];

export const restoreServerProperty: INodeProperties = {
	displayName: 'Restore Server',
	name: 'restoreServer',
	type: 'options',
	noDataExpression: true,
	options: [
		{ name: 'PostgreSQL', value: 'postgres', description: 'Restore PostgreSQL sets with pg_restore' },
		{
			name: 'SQL Server',
			value: 'sqlserver',
			description: 'Restore SQL Server sets (full, differential, log chains) with RESTORE DATABASE',
		},
	],
	default: 'postgres',
	description: 'Engine of the server the sets are restored on; it must be the engine of the sets',
	displayOptions: { show: { operation: DATABASE_OPERATIONS } },
};

/** Which restore point: from the item (TOTVS Dump's Database + Files), or by ID for "By ID". */
const restorePointProperties: INodeProperties[] = [
	{
		displayName: 'Restore Point ID',
		name: 'restorePointId',
		type: 'string',
		default: '={{ $json.restorePointId }}',
		required: true,
		displayOptions: { show: { operation: RESTORE_POINT_OPERATIONS, setSource: ['item'] } },
		description:
			'The restore point TOTVS Dump (Database + Files) made; its sets are looked for beside the Backup Set Folder',
	},
	{
		displayName: 'Restore Point ID',
		name: 'restorePointId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'prod-20261126T020000Z-rp-3fa9c1',
		displayOptions: {
			show: { operation: RESTORE_POINT_OPERATIONS, setSource: ['folder', 'destination'], pick: ['backupId'] },
		},
		description: 'The restorePointId TOTVS Dump (Database + Files) returned',
	},
];

/** Which set to restore: Backup Set and the parameters of each choice. */
export const restoreSetProperties: INodeProperties[] = [
	{
		displayName: 'Backup Set',
		name: 'setSource',
		type: 'options',
		options: [
			{ name: 'From Input Item', value: 'item', description: 'The set made or verified by the previous TOTVS node' },
			{
				name: 'From a Backups Folder',
				value: 'folder',
				description: 'A set in a local or mounted network folder, by ID or the latest of an environment',
			},
			{
				name: 'From a Destination',
				value: 'destination',
				description:
					'A set uploaded by TOTVS Upload (SFTP, FTP/FTPS, Google Drive, network folder), by ID or the latest of an environment: downloaded and verified first',
			},
		],
		default: 'item',
	},
	{
		displayName: 'Backup Set Folder',
		name: 'setFolder',
		type: 'string',
		default: '={{ $json.location }}',
		required: true,
		displayOptions: { show: { setSource: ['item'] } },
		description: setFolderDescription('TOTVS Dump or Verify'),
	},
	{
		displayName: 'Backups Folder',
		name: 'backupsFolder',
		type: 'string',
		default: '',
		required: true,
		placeholder: BACKUPS_FOLDER_PLACEHOLDER,
		displayOptions: fromFolder,
		description: "Folder holding one sub-folder per environment, as TOTVS Dump's staging folder does",
	},
	destination,
	localFolder,
	...sharedFolderProperties(onSqlServer),
	{
		displayName: 'Environment',
		name: 'environment',
		type: 'string',
		default: 'prod',
		required: true,
		displayOptions: chosenSet,
		description: 'Environment whose set to restore, as named in TOTVS Dump',
	},
	{
		displayName: 'Which Set',
		name: 'pick',
		type: 'options',
		options: [
			{
				name: 'Latest',
				value: 'latest',
				description:
					'The newest complete set of the environment the operation restores (database set, files set, or restore point with both)',
			},
			{
				name: 'By ID',
				value: 'backupId',
				description:
					'A backup ID (for a files set: its chain is restored "as of" that set) or, for a restore point, its ID',
			},
		],
		default: 'latest',
		displayOptions: chosenSet,
	},
	...restorePointProperties,
	{
		displayName: 'Backup ID',
		name: 'backupId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'prod-20261126T020000Z-full-db',
		displayOptions: {
			show: { setSource: ['folder', 'destination'], pick: ['backupId'] },
			hide: { operation: RESTORE_POINT_OPERATIONS },
		},
		description:
			'For a files set, any set of a chain: the tree is restored as it was when that full, differential or incremental set was made',
	},
	{
		displayName: 'Staging Folder',
		name: 'stagingFolder',
		type: 'string',
		default: '',
		placeholder: STAGING_FOLDER_PLACEHOLDER,
		displayOptions: fromDestination,
		description: `Local folder the set is downloaded into (a private sub-folder of it, removed afterwards unless "Keep Downloaded Set" is on). It must exist. Empty: ${DEFAULT_STAGING_FOLDER}. SQL Server: it must lie inside the shared folder (Local Mount Path), since SQL Server reads the files; empty: the shared folder itself.`,
	},
];

/** The entries of the Options collection both nodes offer, in n8n's alphabetical order. */
export const restoreOptions: Record<
	| 'scratchFolder'
	| 'encoding'
	| 'htmlReport'
	| 'htmlBinaryProperty'
	| 'keepOnFailure'
	| 'keepDownload'
	| 'jobs'
	| 'restoreOwners'
	| 'restorePrivileges',
	INodeProperties
> = {
	scratchFolder: {
		displayName: 'Scratch Folder',
		name: 'scratchFolder',
		type: 'string',
		default: '',
		placeholder: '/var/tmp',
		displayOptions: { show: { '/operation': ['files', 'restorePoint'] } },
		description:
			"Folder the files set is restore-tested in (a private sub-folder of it, always removed unless kept on failure). Empty: the system's temporary folder. It needs room for the whole tree.",
	},
	encoding: {
		displayName: 'Database Encoding',
		name: 'encoding',
		type: 'string',
		default: '',
		placeholder: 'UTF8',
		displayOptions: postgresOption,
		description:
			"Leave empty to use the source's encoding (what Protheus needs). Another encoding rehearses a migration: the fingerprint check then shows whose text changes.",
	},
	htmlReport: {
		displayName: 'HTML Report',
		name: 'htmlReport',
		type: 'boolean',
		default: true,
		description: 'Whether to add a small HTML report of every check as binary data, ready for an e-mail node',
	},
	htmlBinaryProperty: {
		displayName: 'HTML Report Binary Field',
		name: 'htmlBinaryProperty',
		type: 'string',
		default: 'report',
		displayOptions: { show: { htmlReport: [true] } },
		description: 'Name of the binary field that holds the HTML report',
	},
	keepOnFailure: {
		displayName: 'Keep Database on Failure',
		name: 'keepOnFailure',
		type: 'boolean',
		default: true,
		description:
			'Whether to keep the restored database (or, for files, the restored tree) when the restore or a check fails, for investigation (named in the report). It is always removed when the execution is cancelled.',
	},
	keepDownload: {
		displayName: 'Keep Downloaded Set',
		name: 'keepDownload',
		type: 'boolean',
		default: true,
		displayOptions: { show: { '/setSource': ['destination'] } },
		description:
			'Whether to keep the set downloaded from the destination (for SQL Server: with the sets of its chain), in &lt;staging folder&gt;/&lt;environment&gt;/&lt;backup ID&gt; (or its download folder if that exists already). By default it is removed after the restore.',
	},
	jobs: {
		displayName: 'Parallel Jobs',
		name: 'jobs',
		type: 'number',
		default: 2,
		typeOptions: { minValue: 1, maxValue: 32 },
		displayOptions: postgresOption,
		description: 'Number of pg_restore workers (pg_restore -j)',
	},
	restoreOwners: {
		displayName: 'Restore Owners',
		name: 'restoreOwners',
		type: 'boolean',
		default: true,
		displayOptions: postgresOption,
		description: 'Whether to give objects their original owners. The roles must exist on the restore server.',
	},
	restorePrivileges: {
		displayName: 'Restore Privileges',
		name: 'restorePrivileges',
		type: 'boolean',
		default: true,
		displayOptions: postgresOption,
		description: 'Whether to restore GRANTs. The roles must exist on the restore server.',
	},
};
