import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

/**
 * The destination choice and the Local / Network Folder path, shared by TOTVS Upload and TOTVS
 * Restore Test ("From a Destination"). `show` adds conditions to both (e.g. the set source).
 * The credential of each remote choice is declared in the node's own `credentials` list.
 */
export function destinationProperties(show: IDisplayOptions['show'] = {}): { destination: INodeProperties; localFolder: INodeProperties } {
	const shown = Object.keys(show ?? {}).length ? { displayOptions: { show } } : {};
	return {
		destination: {
			displayName: 'Destination',
			name: 'destination',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'FTP / FTPS', value: 'ftp' },
				{ name: 'Google Drive', value: 'googleDrive' },
				{ name: 'Local / Network Folder', value: 'local', description: 'A local disk or a mounted SMB / NFS share' },
				{ name: 'SFTP', value: 'sftp' },
			],
			default: 'sftp',
			...shown,
		},
		localFolder: {
			displayName: 'Folder Path',
			name: 'localFolder',
			type: 'string',
			default: '',
			required: true,
			placeholder: '/mnt/offsite/totvs',
			description: 'Absolute path of the destination folder: a second disk or a mounted network share (it must exist)',
			displayOptions: { show: { ...show, destination: ['local'] } },
		},
	};
}
