import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A SQL Server database of a TOTVS environment (Protheus or RM). Tested by the nodes'
 * `totvsSqlServerConnectionTest` (a database connection, not HTTP).
 */
// A database credential, not an API: the -Api suffix rules exempt n8n's own database credentials
// (MicrosoftSql, Postgres…) by file name only, and renaming the type would orphan saved credentials.
// eslint-disable-next-line n8n-nodes-base/cred-class-name-unsuffixed
export class TotvsSqlServer implements ICredentialType {
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-name-unsuffixed
	name = 'totvsSqlServer';

	// eslint-disable-next-line n8n-nodes-base/cred-class-field-display-name-missing-api
	displayName = 'TOTVS SQL Server';

	icon = { light: 'file:totvsSqlServer.svg', dark: 'file:totvsSqlServer.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#sql-server';

	properties: INodeProperties[] = [
		{
			displayName: 'Server',
			name: 'server',
			type: 'string',
			default: '',
			placeholder: 'sqlprod01.example.local',
			description: 'Host name or address of the SQL Server (without instance name or port: those are below)',
			required: true,
		},
		{
			displayName: 'Connect By',
			name: 'connectBy',
			type: 'options',
			options: [
				{ name: 'Port', value: 'port', description: 'TCP port (1433 for a default instance)' },
				{
					name: 'Instance Name',
					value: 'instance',
					description: 'Named instance, resolved by the SQL Server Browser service (UDP 1434)',
				},
			],
			default: 'port',
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 1433,
			displayOptions: { show: { connectBy: ['port'] } },
		},
		{
			displayName: 'Instance Name',
			name: 'instance',
			type: 'string',
			default: '',
			placeholder: 'TOTVS',
			displayOptions: { show: { connectBy: ['instance'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: '',
			placeholder: 'PROTHEUS',
			description: 'The Protheus or RM database (as in dbaccess.ini), for example PROTHEUS, P12 or DADOSADV',
			required: true,
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'SQL Server Login', value: 'sql' },
				{ name: 'Windows (NTLM)', value: 'ntlm', description: 'A Windows domain or local account' },
			],
			default: 'sql',
		},
		{
			displayName: 'Domain',
			name: 'domain',
			type: 'string',
			default: '',
			placeholder: 'CORP',
			displayOptions: { show: { authentication: ['ntlm'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description:
				'Backups need db_backupoperator in the database (or sysadmin); Restore Test needs dbcreator (or sysadmin)',
			required: true,
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'Encrypt Connection',
			name: 'encrypt',
			type: 'boolean',
			default: true,
			description:
				'Whether to encrypt the connection with TLS (required by Azure and by servers with Force Encryption)',
		},
		// A yes/no switch, not a secret: the rule matches "Certificate" in its name.
		// eslint-disable-next-line @n8n/community-nodes/credential-password-field
		{
			displayName: 'Trust Server Certificate',
			name: 'trustServerCertificate',
			type: 'boolean',
			default: false,
			description:
				'Whether to accept any certificate without validating it. Insecure: use only for a self-signed certificate on a trusted network; prefer installing a certificate the n8n host trusts.',
			displayOptions: { show: { encrypt: [true] } },
		},
		{
			displayName: 'Connection Timeout (Seconds)',
			name: 'connectTimeout',
			type: 'number',
			default: 15,
			typeOptions: { minValue: 1 },
		},
		{
			displayName: 'Query Timeout (Seconds)',
			name: 'requestTimeout',
			type: 'number',
			default: 60,
			typeOptions: { minValue: 1 },
			description: 'For inventory queries. BACKUP, RESTORE and DBCC CHECKDB run as long as they need.',
		},
	];
}
