import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Google Drive folder (in My Drive or a shared drive) that backups go to, reached with a
 * service account key (the usual choice for unattended backups; with a shared drive, or
 * domain-wide delegation to act as a Workspace user) or an OAuth2 client and refresh token.
 * Tested by the TOTVS Upload node's `totvsGoogleDriveConnectionTest`.
 */
export class TotvsGoogleDriveApi implements ICredentialType {
	name = 'totvsGoogleDriveApi';

	displayName = 'TOTVS Google Drive API';

	icon = { light: 'file:totvsGoogleDriveApi.svg', dark: 'file:totvsGoogleDriveApi.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{
					name: 'Service Account',
					value: 'serviceAccount',
					description: 'A JSON key of a Google Cloud service account with the Drive API enabled',
				},
				{
					name: 'OAuth2 (Refresh Token)',
					value: 'oauth2',
					description: 'An OAuth2 client of your Google Cloud project and a refresh token with the drive scope',
				},
			],
			default: 'serviceAccount',
		},
		{
			displayName: 'Service Account Key (JSON)',
			name: 'serviceAccountJson',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			placeholder: '{ "type": "service_account", "client_email": "…", "private_key": "…" }',
			description:
				'The whole JSON key file downloaded from Google Cloud (IAM → Service Accounts → Keys). Service accounts have no storage of their own: use a folder in a shared drive the account is a member of, or delegation below.',
			displayOptions: { show: { authentication: ['serviceAccount'] } },
		},
		{
			displayName: 'Impersonate User (Domain-Wide Delegation)',
			name: 'subject',
			type: 'string',
			default: '',
			placeholder: 'backup@example.com',
			description:
				'Optional: the Google Workspace user to act as, when the service account has domain-wide delegation for the drive scope',
			displayOptions: { show: { authentication: ['serviceAccount'] } },
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			displayOptions: { show: { authentication: ['oauth2'] } },
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['oauth2'] } },
		},
		{
			displayName: 'Refresh Token',
			name: 'refreshToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'A refresh token for the https://www.googleapis.com/auth/drive scope (for example from the OAuth 2.0 Playground with your own client)',
			displayOptions: { show: { authentication: ['oauth2'] } },
		},
		{
			displayName: 'Folder ID',
			name: 'folderId',
			type: 'string',
			default: '',
			placeholder: '1AbCdEfGhIjKlMnOpQrStUvWxYz',
			description:
				'The folder backups go to: open it in Google Drive and copy the ID from the address (…/folders/&lt;ID&gt;). On a shared drive, a folder in it or the drive ID.',
			required: true,
		},
		{
			displayName: 'Custom Endpoints',
			name: 'customEndpoints',
			type: 'boolean',
			default: false,
			description: 'Whether to reach Google through other URLs: only for a proxy or a test emulator',
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://www.googleapis.com',
			displayOptions: { show: { customEndpoints: [true] } },
		},
		{
			displayName: 'Token URL',
			name: 'tokenUrl',
			type: 'string',
			default: 'https://oauth2.googleapis.com/token',
			displayOptions: { show: { customEndpoints: [true] } },
		},
	];
}
