import type { INodeProperties } from 'n8n-workflow';
import { waitForLockProperty } from '../../shared/destination-parameters';
import { PG_CLIENT_FOLDER_PLACEHOLDER } from '../../shared/hints';
import { languageOption } from '../../shared/summary';

/** Parameters of several operations; each operation's own are in its *.operation.ts. */

export const environment: INodeProperties = {
	displayName: 'Environment',
	name: 'environment',
	type: 'string',
	default: '={{ $json.environment }}',
	placeholder: 'prod',
	description: 'The environment whose sets to use, as named in TOTVS Dump. For List, empty lists every environment.',
	displayOptions: { show: { operation: ['list', 'download', 'prune'] } },
};

/**
 * One Options collection for every operation, each option shown for the operations that use it
 * ('/operation': the root parameter): users' saved workflows keep their options whatever the
 * operation, and "Add Option" lists only what the chosen operation reads.
 */
export const options: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Include Unfinished Sets',
			name: 'includeUnfinished',
			displayOptions: { show: { '/operation': ['list'] } },
			type: 'boolean',
			default: true,
			description:
				'Whether to also return folders without manifest (interrupted or running uploads), with remoteStatus "unfinished"',
		},
		{
			displayName: 'PostgreSQL Client Folder',
			name: 'pgClientFolder',
			displayOptions: { show: { '/operation': ['download'] } },
			type: 'string',
			default: '',
			placeholder: PG_CLIENT_FOLDER_PLACEHOLDER,
			description: 'Folder with pg_restore, used to verify the set. Empty: the newest found.',
		},
		{
			displayName: 'Read Back to Verify',
			name: 'readBack',
			displayOptions: { show: { '/operation': ['upload'] } },
			type: 'boolean',
			default: true,
			description:
				'Whether Upload downloads and hashes each file again when the destination gives no remote hash (FTP without HASH, SFTP without shell). Doubles the traffic.',
		},
		{
			displayName: 'Time Zone',
			name: 'timeZone',
			displayOptions: { show: { '/operation': ['prune'] } },
			type: 'string',
			default: '',
			placeholder: 'America/Sao_Paulo',
			description: 'Time zone of the days, weeks, months and years. Empty: the workflow time zone.',
		},
		{
			displayName: 'Unfinished Sets Older Than (Hours)',
			name: 'unfinishedAfterHours',
			displayOptions: { show: { '/operation': ['prune'] } },
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 24,
			description: 'Remove folders without manifest (interrupted uploads) unchanged for longer than this',
		},
		waitForLockProperty({ show: { '/operation': ['upload', 'prune'] } }),
		languageOption,
	],
};
