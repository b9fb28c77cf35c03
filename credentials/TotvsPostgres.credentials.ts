import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A PostgreSQL database of a TOTVS environment, and where the pg_dump / pg_restore tools are.
 * Tested by the nodes' `totvsPostgresConnectionTest` (a database connection, not HTTP).
 */
export class TotvsPostgres implements ICredentialType {
	name = 'totvsPostgres';

	displayName = 'TOTVS PostgreSQL';

	icon = { light: 'file:totvsPostgres.svg', dark: 'file:totvsPostgres.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			required: true,
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			required: true,
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: '',
			placeholder: 'protheus',
			description: 'The Protheus database (as in dbaccess.ini), for example protheus, P12 or DADOSADV',
			required: true,
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			description:
				'A user that can read every table: the database owner, or a member of pg_read_all_data (PostgreSQL 14+)',
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
			displayName: 'SSL',
			name: 'sslMode',
			type: 'options',
			options: [
				{
					name: 'Prefer (Encrypt When the Server Offers TLS)',
					value: 'prefer',
					description:
						'Encrypts whenever the server has TLS on (certificate not checked), plain otherwise. Choose a Verify mode to also authenticate the server.',
				},
				{ name: 'Disable', value: 'disable', description: 'Always plain, even when the server offers TLS' },
				{ name: 'Require (Verify Certificate and Host Name)', value: 'verify-full' },
				{ name: 'Require (Verify Certificate Only)', value: 'verify-ca' },
				{
					name: 'Require (Do Not Verify — Insecure)',
					value: 'require',
					description: 'Encrypts but accepts any certificate',
				},
			],
			// 'prefer', not 'disable': a dump holds the whole ERP (salaries, customers); it should not
			// cross the network in clear when the server offers TLS. Not 'require': many on-premises
			// Protheus servers have TLS off, and a default that cannot connect helps nobody.
			default: 'prefer',
		},
		{
			displayName: 'CA Certificate',
			name: 'sslCa',
			type: 'string',
			// A CA certificate is public: shown as plain text, not masked like a secret.
			typeOptions: { rows: 4 },
			default: '',
			description:
				'PEM of the certificate authority that signed the server certificate. Leave empty to use the system CAs.',
			displayOptions: { show: { sslMode: ['verify-full', 'verify-ca'] } },
		},
		{
			displayName: 'PostgreSQL Client Folder',
			name: 'binFolder',
			type: 'string',
			default: '',
			placeholder: '/usr/lib/postgresql/16/bin',
			description:
				"Folder with pg_dump and pg_restore of the server's major version or newer. Leave empty to use the newest found on PATH or in /usr/lib/postgresql/*/bin.",
		},
	];
}
