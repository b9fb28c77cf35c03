import type { INodeProperties } from 'n8n-workflow';
import { destinationProperties } from '../shared/destination-parameters';
import { languageOption } from '../shared/summary';

const { destination, localFolder } = destinationProperties();

const show = (operation: string[]) => ({ show: { operation } });

export const uploadProperties: INodeProperties[] = [
	destination,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Download',
				value: 'download',
				description: 'Fetch a set to the staging folder and verify it',
				action: 'Download a backup set',
			},
			{
				name: 'List',
				value: 'list',
				description: 'List the sets on the destination, with status and size',
				action: 'List backup sets',
			},
			{
				name: 'Prune',
				value: 'prune',
				description: 'Delete old sets by a retention policy, never breaking a chain',
				action: 'Prune old backup sets',
			},
			{
				name: 'Upload',
				value: 'upload',
				description: 'Copy the backup set of each item to the destination',
				action: 'Upload a backup set',
			},
		],
		default: 'upload',
	},
	localFolder,

	// ---- Upload
	{
		displayName: 'Backup Set Folder',
		name: 'setFolder',
		type: 'string',
		default: '={{ $json.location }}',
		required: true,
		description:
			'Folder of the backup set to upload, the one holding its manifest file. The default takes it from the TOTVS Dump or Verify item.',
		displayOptions: show(['upload']),
	},

	// ---- List / Download / Prune
	{
		displayName: 'Environment',
		name: 'environment',
		type: 'string',
		default: '={{ $json.environment }}',
		placeholder: 'prod',
		description: 'The environment whose sets to use, as named in TOTVS Dump. For List, empty lists every environment.',
		displayOptions: show(['list', 'download', 'prune']),
	},
	{
		displayName: 'Backup ID',
		name: 'backupId',
		type: 'string',
		default: 'latest',
		placeholder: 'prod-20261126T020000Z-full-db',
		description: 'The set to download, or "latest" for the newest complete set of the environment',
		displayOptions: show(['download']),
	},
	{
		displayName: 'Staging Folder',
		name: 'stagingFolder',
		type: 'string',
		default: '',
		placeholder: '/mnt/backup/totvs',
		description:
			'Local folder the set is downloaded into (as &lt;folder&gt;/&lt;environment&gt;/&lt;backup ID&gt;). It must exist. Empty: ~/.n8n-files/totvs-backups under the n8n user folder.',
		displayOptions: show(['download']),
	},

	// ---- Prune policy
	{
		displayName: 'Dry Run',
		name: 'dryRun',
		type: 'boolean',
		default: true,
		description: 'Whether to only report what would be deleted and why. Turn off to delete.',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Keep Last',
		name: 'keepLast',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 7,
		description: 'Keep this many newest sets',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Keep Daily',
		name: 'keepDaily',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 7,
		description: 'Keep the newest set of each of this many most recent days that have one',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Keep Weekly',
		name: 'keepWeekly',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 4,
		description: 'Keep the newest set of each of this many most recent weeks (ISO weeks, Monday to Sunday)',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Keep Monthly',
		name: 'keepMonthly',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 12,
		description: 'Keep the newest set of each of this many most recent months',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Keep Yearly',
		name: 'keepYearly',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Keep the newest set of each of this many most recent years',
		displayOptions: show(['prune']),
	},
	{
		displayName: 'Minimum Age (Days)',
		name: 'minimumAgeDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 2,
		description: 'Never delete a set younger than this, whatever the rules above say',
		displayOptions: show(['prune']),
	},

	// ---- Options
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Include Unfinished Sets',
				name: 'includeUnfinished',
				type: 'boolean',
				default: false,
				description:
					'Whether List also returns folders without manifest (interrupted or running uploads), with remoteStatus "unfinished"',
			},
			{
				displayName: 'PostgreSQL Client Folder',
				name: 'pgClientFolder',
				type: 'string',
				default: '',
				placeholder: '/usr/lib/postgresql/16/bin',
				description: 'For Download: folder with pg_restore, used to verify the set. Empty: the newest found.',
			},
			{
				displayName: 'Read Back to Verify',
				name: 'readBack',
				type: 'boolean',
				default: false,
				description:
					'Whether Upload downloads and hashes each file again when the destination gives no remote hash (FTP without HASH, SFTP without shell). Doubles the traffic.',
			},
			{
				displayName: 'Time Zone',
				name: 'timeZone',
				type: 'string',
				default: '',
				placeholder: 'America/Sao_Paulo',
				description: 'For Prune: time zone of the days, weeks, months and years. Empty: the workflow time zone.',
			},
			{
				displayName: 'Unfinished Sets Older Than (Hours)',
				name: 'unfinishedAfterHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 24,
				description: 'For Prune: remove folders without manifest (interrupted uploads) unchanged for longer than this',
			},
			{
				displayName: 'Wait for Lock (Seconds)',
				name: 'waitForLockSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 60,
				description:
					'For Upload and Prune: how long to wait when another execution is writing to the same environment on this destination',
			},
			languageOption,
		],
	},
];
