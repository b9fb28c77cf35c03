import type { INodeProperties } from 'n8n-workflow';
import { destinationProperties } from '../shared/destination-parameters';
import { sharedFolderProperties } from '../shared/sqlserver-access';
import { languageOption } from '../shared/summary';

const restoreOnly = { show: { operation: ['restore'] } };
const fromFolder = { show: { setSource: ['folder'] } };
const fromDestination = { show: { setSource: ['destination'] } };
const chosenSet = { show: { setSource: ['folder', 'destination'] } };
const { destination, localFolder } = destinationProperties(fromDestination.show);
const onPostgres = { show: { restoreServer: ['postgres'] } };
const onSqlServer = { show: { restoreServer: ['sqlserver'] } };
/** Options that only pg_restore and the PostgreSQL checks use. */
const postgresOption = { '/restoreServer': ['postgres'] };

/** TOTVS Restore Test's parameters: which set, where to restore it, and how. */
export const restoreTestProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Restore Test',
				value: 'restoreTest',
				action: 'Prove a backup restores',
				description: 'Restore into a scratch database, check the ERP data against the manifest, drop it',
			},
			{
				name: 'Restore',
				value: 'restore',
				action: 'Restore a backup into a database',
				description: 'Real recovery: restore into a named database, checked before it takes the name',
			},
		],
		default: 'restoreTest',
	},
	{
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
	},
	{
		displayName:
			'The credential is the restore server\'s (often its own "TOTVS PostgreSQL" credential, not production\'s). Its database is only connected to (postgres is fine); its user needs CREATEDB. Restore Test creates and drops totvs_rt_&lt;backup ID&gt; there.',
		name: 'restoreServerNotice',
		type: 'notice',
		default: '',
		displayOptions: onPostgres,
	},
	{
		displayName:
			"The credential is the restore server's (a \"TOTVS SQL Server\" credential, often not production's); the node works from its master database and its login needs CREATE DATABASE (dbcreator). The chain (full, differential, logs) is restored into totvs_rt_&lt;backup ID&gt; (Restore: totvs_rs_&lt;backup ID&gt;) in the server's default data and log folders, checked with DBCC CHECKDB and the TOTVS checks, then dropped (Restore: renamed to the target). SQL Server reads the sets itself, through the shared folder below; sets from a destination are downloaded into it.",
		name: 'sqlServerNotice',
		type: 'notice',
		default: '',
		displayOptions: onSqlServer,
	},
	{
		displayName:
			"Restore on SQL Server: the restored database keeps the file names of its staging copy (totvs_rs_&lt;backup ID&gt;_1.mdf, _2.ldf … in the default folders) and the source's logical file names. Replacing an existing database disconnects its sessions (ROLLBACK IMMEDIATE), renames it to totvs_old_&lt;target&gt;, gives the restored copy its name, then drops the old one.",
		name: 'sqlServerRestoreNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { restoreServer: ['sqlserver'], operation: ['restore'] } },
	},
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
		description:
			'Folder of the backup set, the one holding its manifest file. The default takes it from the TOTVS Dump or Verify item.',
	},
	{
		displayName: 'Backups Folder',
		name: 'backupsFolder',
		type: 'string',
		default: '',
		required: true,
		placeholder: '/mnt/backup/totvs',
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
			{ name: 'Latest', value: 'latest', description: 'The newest complete database set of the environment' },
			{ name: 'By Backup ID', value: 'backupId' },
		],
		default: 'latest',
		displayOptions: chosenSet,
	},
	{
		displayName: 'Backup ID',
		name: 'backupId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'prod-20261126T020000Z-full-db',
		displayOptions: { show: { setSource: ['folder', 'destination'], pick: ['backupId'] } },
	},
	{
		displayName: 'Staging Folder',
		name: 'stagingFolder',
		type: 'string',
		default: '',
		placeholder: '/mnt/backup/totvs',
		displayOptions: fromDestination,
		description:
			'Local folder the set is downloaded into (a private sub-folder of it, removed afterwards unless "Keep Downloaded Set" is on). It must exist. Empty: ~/.n8n-files/totvs-backups under the n8n user folder. SQL Server: it must lie inside the shared folder (Local Mount Path), since SQL Server reads the files; empty: the shared folder itself.',
	},
	{
		displayName: 'Target Database',
		name: 'targetDatabase',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'protheus_restored',
		displayOptions: restoreOnly,
		description:
			'Database to restore into, on the server of the credential. It must not exist unless "Replace Existing Database" is on.',
	},
	{
		displayName: 'Replace Existing Database',
		name: 'replaceExisting',
		type: 'boolean',
		default: false,
		displayOptions: restoreOnly,
		description:
			'Whether to replace the target database if it exists. The set is restored and checked under a temporary name first; the old database is dropped only when every check passed and the restored copy has taken its name.',
	},
	{
		displayName: 'Allow Replacing the Source Database',
		name: 'allowSourceDatabase',
		type: 'boolean',
		default: false,
		displayOptions: { show: { operation: ['restore'], replaceExisting: [true] } },
		description:
			'Whether the target may be the very database the set was taken from (same server and database name). Replaces production data: for disaster recovery only.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Business Date Max Age (Days)',
				name: 'freshnessDays',
				type: 'number',
				default: 3,
				typeOptions: { minValue: 0 },
				displayOptions: { show: { '/operation': ['restoreTest'], ...postgresOption } },
				description:
					'The newest business date (E1_EMISSAO, F2_EMISSAO, CT2_DATA) must be at most this many days before the backup. 0 turns the check off.',
			},
			{
				displayName: 'Database Encoding',
				name: 'encoding',
				type: 'string',
				default: '',
				placeholder: 'UTF8',
				displayOptions: { show: postgresOption },
				description:
					"Leave empty to use the source's encoding (what Protheus needs). Another encoding rehearses a migration: the fingerprint check then shows whose text changes.",
			},
			{
				displayName: 'HTML Report',
				name: 'htmlReport',
				type: 'boolean',
				default: false,
				description: 'Whether to add a small HTML report of every check as binary data, ready for an e-mail node',
			},
			{
				displayName: 'HTML Report Binary Field',
				name: 'htmlBinaryProperty',
				type: 'string',
				default: 'report',
				displayOptions: { show: { htmlReport: [true] } },
				description: 'Name of the binary field that holds the HTML report',
			},
			{
				displayName: 'Keep Database on Failure',
				name: 'keepOnFailure',
				type: 'boolean',
				default: false,
				description:
					'Whether to keep the restored database when the restore or a check fails, for investigation (named in the report). It is always dropped when the execution is cancelled.',
			},
			{
				displayName: 'Keep Downloaded Set',
				name: 'keepDownload',
				type: 'boolean',
				default: false,
				displayOptions: { show: { '/setSource': ['destination'] } },
				description:
					'Whether to keep the set downloaded from the destination (for SQL Server: with the sets of its chain), in &lt;staging folder&gt;/&lt;environment&gt;/&lt;backup ID&gt; (or its download folder if that exists already). By default it is removed after the restore.',
			},
			{
				displayName: 'Parallel Jobs',
				name: 'jobs',
				type: 'number',
				default: 2,
				typeOptions: { minValue: 1, maxValue: 32 },
				displayOptions: { show: postgresOption },
				description: 'Number of pg_restore workers (pg_restore -j)',
			},
			{
				displayName: 'Restore Owners',
				name: 'restoreOwners',
				type: 'boolean',
				default: false,
				displayOptions: { show: postgresOption },
				description: 'Whether to give objects their original owners. The roles must exist on the restore server.',
			},
			{
				displayName: 'Restore Privileges',
				name: 'restorePrivileges',
				type: 'boolean',
				default: false,
				displayOptions: { show: postgresOption },
				description: 'Whether to restore GRANTs. The roles must exist on the restore server.',
			},
			languageOption,
		],
	},
];
