import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { BackupError } from '../../core/errors';
import type { PitrTarget } from '../../core/sources/postgres-pitr';

/**
 * The parameters TOTVS Restore Test's and TOTVS Restore's point-in-time operations share: what to
 * recover to, and where the chain's sets are (the shared Backup Set parameters: a backups folder
 * and environment, or the input item's set folder).
 */
export function pitrTargetProperties(operation: string): INodeProperties[] {
	return [
		{
			displayName: 'Recover To',
			name: 'pitrTarget',
			type: 'options',
			displayOptions: { show: { operation: [operation] } },
			options: [
				{ name: 'A Time', value: 'time', description: 'The state of the database at that time' },
				{ name: 'End of the Newest Set', value: 'end', description: 'Everything the chain holds' },
			],
			default: 'time',
		},
		{
			displayName: 'Target Time',
			name: 'pitrTargetTime',
			type: 'dateTime',
			default: '',
			required: true,
			displayOptions: { show: { operation: [operation], pitrTarget: ['time'] } },
			description: 'Database server time to recover to (ISO-8601, e.g. 2026-05-04T13:45:00Z)',
		},
	];
}

export function readPitrTarget(ctx: IExecuteFunctions, i: number): PitrTarget {
	if ((ctx.getNodeParameter('pitrTarget', i, 'time') as string) !== 'time') return { end: true };
	const text = String(ctx.getNodeParameter('pitrTargetTime', i, ''));
	const time = new Date(text);
	if (!text || Number.isNaN(time.getTime()))
		throw new BackupError(
			'INVALID_INPUT',
			`Target Time "${text}" is not a time`,
			'Give an ISO-8601 time, e.g. 2026-05-04T13:45:00Z.',
		);
	return { time };
}

/** Where the chain's sets are: the Backups Folder and Environment, or the input item's set. */
export function readPitrLocation(
	ctx: IExecuteFunctions,
	i: number,
): { root: string; environment: string } | { setFolder: string } {
	const source = ctx.getNodeParameter('setSource', i, 'item') as string;
	if (source === 'folder')
		return {
			root: ctx.getNodeParameter('backupsFolder', i) as string,
			environment: ctx.getNodeParameter('environment', i) as string,
		};
	if (source === 'item') return { setFolder: ctx.getNodeParameter('setFolder', i) as string };
	throw new BackupError(
		'INVALID_INPUT',
		'A point-in-time restore reads its chain from a folder, not from a destination',
		'Choose Backup Set: From a Backups Folder (the staging folder, or a mounted copy of the destination).',
	);
}
