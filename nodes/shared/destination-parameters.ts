import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

/**
 * The destination choice and the Local / Network Folder path, shared by TOTVS Upload and TOTVS
 * Restore Test ("From a Destination"). `show` adds conditions to both (e.g. the set source).
 * The credential of each remote choice is declared in the node's own `credentials` list.
 *
 * Google Drive's two credential types are two destination values rather than an extra
 * "Authentication" parameter shown for Google Drive: n8n's editor takes a parameter whose every
 * value selects a credential as the node's main auth field, and hides from the node panel both
 * it and the parameters its own display conditions name, which would be Destination.
 */
export function destinationProperties(show: IDisplayOptions['show'] = {}): {
	destination: INodeProperties;
	localFolder: INodeProperties;
} {
	const shown = Object.keys(show ?? {}).length ? { displayOptions: { show } } : {};
	return {
		destination: {
			displayName: 'Destination',
			name: 'destination',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'FTP / FTPS', value: 'ftp' },
				{
					name: 'Google Drive (Service Account / Refresh Token)',
					value: 'googleDrive',
					description:
						'With a service account key (shared drives, domain-wide delegation) or a pasted OAuth2 refresh token',
				},
				{
					name: 'Google Drive (Sign in with Google)',
					value: 'googleDriveSignIn',
					description: "As a Google user, through n8n's OAuth2 sign-in; for a My Drive folder",
				},
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

/**
 * How long to wait for another execution's lock on the environment at the destination: TOTVS
 * Upload's option (Upload, Prune) and TOTVS Dump's, for Send While Dumping.
 */
export function waitForLockProperty(displayOptions: IDisplayOptions): INodeProperties {
	return {
		displayName: 'Wait for Lock (Seconds)',
		name: 'waitForLockSeconds',
		displayOptions,
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 60,
		description: 'How long to wait when another execution is writing to the same environment on this destination',
	};
}
