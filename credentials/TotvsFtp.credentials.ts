import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * An FTP or FTPS server and the folder backups go to. TLS certificates are validated; a
 * self-signed server is trusted through its CA / certificate or its fingerprint, never by
 * turning validation off. Tested by the TOTVS Upload node's `totvsFtpConnectionTest`.
 */
export class TotvsFtp implements ICredentialType {
	name = 'totvsFtp';

	displayName = 'TOTVS FTP / FTPS';

	icon = { light: 'file:totvsFtp.svg', dark: 'file:totvsFtp.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#credentials';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: '', placeholder: 'ftp.example.com', required: true },
		{
			displayName: 'Security',
			name: 'tls',
			type: 'options',
			options: [
				{ name: 'FTPS: Explicit TLS (AUTH TLS, Port 21)', value: 'explicit' },
				{ name: 'FTPS: Implicit TLS (Port 990)', value: 'implicit' },
				{ name: 'Plain FTP (Unencrypted — Password and Data Readable on the Network)', value: 'none' },
			],
			default: 'explicit',
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 21,
			description: 'FTP and explicit FTPS listen on 21; implicit FTPS usually on 990. 0 chooses by the TLS mode.',
		},
		{ displayName: 'Username', name: 'username', type: 'string', default: '', required: true },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'Trusted CA or Server Certificate (PEM)',
			name: 'caPem',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description:
				'For a server whose certificate is not signed by a public CA: its CA certificate, or the self-signed certificate itself. Empty: the system CAs.',
			displayOptions: { show: { tls: ['explicit', 'implicit'] } },
		},
		{
			displayName: 'Server Certificate Fingerprint (SHA-256)',
			name: 'serverFingerprint',
			type: 'string',
			default: '',
			placeholder: 'AB:CD:…',
			description:
				'Alternatively, pin the server certificate by its SHA-256 fingerprint as <code>openssl x509 -noout -fingerprint -sha256</code> prints it. The credential test shows the fingerprint the server presented.',
			displayOptions: { show: { tls: ['explicit', 'implicit'] } },
		},
		{
			displayName: 'Folder',
			name: 'folder',
			type: 'string',
			default: '',
			placeholder: '/backup/totvs',
			description: 'Folder on the server where backup sets are kept. It must exist. Empty: the login folder.',
		},
	];
}
