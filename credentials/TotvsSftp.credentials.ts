import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * An SFTP server (OpenSSH or any SSH server with the SFTP subsystem) and the folder backups go
 * to. Tested by the TOTVS Upload node's `totvsSftpConnectionTest` (SSH, not HTTP).
 */
export class TotvsSftp implements ICredentialType {
	name = 'totvsSftp';

	displayName = 'TOTVS SFTP';

	icon = { light: 'file:totvsSftp.svg', dark: 'file:totvsSftp.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '',
			placeholder: 'backup.example.com',
			required: true,
		},
		{ displayName: 'Port', name: 'port', type: 'number', default: 22, required: true },
		{ displayName: 'Username', name: 'username', type: 'string', default: '', required: true },
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'Password', value: 'password' },
				{ name: 'Private Key', value: 'privateKey' },
			],
			default: 'privateKey',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['password'] } },
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			placeholder: '-----BEGIN OPENSSH PRIVATE KEY-----',
			description: 'The whole private key file (OpenSSH or PEM format)',
			displayOptions: { show: { authentication: ['privateKey'] } },
		},
		{
			displayName: 'Passphrase',
			name: 'passphrase',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Passphrase of the private key, if it has one',
			displayOptions: { show: { authentication: ['privateKey'] } },
		},
		{
			displayName: 'Host Key Fingerprint (SHA256)',
			name: 'hostFingerprint',
			type: 'string',
			default: '',
			placeholder: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
			description:
				"The server's host key as <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> prints it on the server (or <code>ssh-keyscan host | ssh-keygen -lf -</code>). Connections to any other key are refused. The credential test shows the key the server presented.",
			required: true,
		},
		{
			displayName: 'Folder',
			name: 'folder',
			type: 'string',
			default: '',
			placeholder: '/srv/backup/totvs',
			description:
				'Folder on the server where backup sets are kept (absolute, or relative to the login folder). It must exist. Empty: the login folder.',
		},
		{
			displayName: 'Verify With Remote SHA-256',
			name: 'remoteHash',
			type: 'boolean',
			default: true,
			description:
				'Whether to run <code>sha256sum</code> on the server over SSH to prove each upload. Servers that only allow SFTP (no shell) fall back to a size check, or a read-back when asked.',
		},
		{
			displayName: 'Upload Transport',
			name: 'transport',
			type: 'options',
			options: [
				{
					name: 'Auto (OpenSSH Client When Installed)',
					value: 'auto',
					description:
						'Files of 8 MiB or more go through the OpenSSH <code>sftp</code> client (faster), allowed only the pinned host key; otherwise the built-in client',
				},
				{ name: 'Built-in Client (Ssh2)', value: 'ssh2', description: 'Always the built-in SSH client (slower)' },
			],
			default: 'auto',
			description:
				'How upload bytes travel. Logins, listing, verification and downloads always use the built-in client.',
		},
	];
}
