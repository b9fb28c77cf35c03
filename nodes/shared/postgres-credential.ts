import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import { isBackupError } from '../../core/errors';
import { findClientTool } from '../../core/sources/postgres';
import { connect, type PostgresConnection, type SslMode } from '../../core/sources/postgres';
import { testPassed } from './hints';

export const POSTGRES_CREDENTIAL = 'totvsPostgres';
export const POSTGRES_CREDENTIAL_TEST = 'totvsPostgresConnectionTest';

export function postgresConnection(data: ICredentialDataDecryptedObject): PostgresConnection {
	return {
		host: String(data.host ?? 'localhost'),
		port: Number(data.port ?? 5432),
		database: String(data.database ?? ''),
		user: String(data.user ?? ''),
		password: String(data.password ?? ''),
		// A credential saved before the field existed gets the field's own default.
		sslMode: (data.sslMode as SslMode) ?? 'prefer',
		sslCa: data.sslCa ? String(data.sslCa) : undefined,
		binFolder: data.binFolder ? String(data.binFolder) : undefined,
	};
}

/** The credential's Test button: connects, and says whether this host's pg_dump can dump the server. */
export async function testPostgresCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const connection = postgresConnection(credential.data ?? {});
	try {
		const client = await connect(connection);
		let version: string;
		let major: number;
		try {
			const { rows } = await client.query<{ v: string; n: string }>(
				"SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n",
			);
			version = rows[0].v.split(' ')[0];
			major = Math.floor(Number(rows[0].n) / 10000);
		} finally {
			await client.end().catch(() => undefined);
		}
		const pgDump = await findClientTool('pg_dump', connection.binFolder);
		if (pgDump.major < major)
			return {
				status: 'Error',
				message: `Connected to PostgreSQL ${version}, but pg_dump ${pgDump.version} (${pgDump.path}) is older and cannot dump it: install the PostgreSQL ${major} client tools or newer on the n8n host`,
			};
		return testPassed(
			this,
			'TOTVS PostgreSQL',
			`Connected to PostgreSQL ${version}; pg_dump ${pgDump.version} (${pgDump.path}) can dump it`,
		);
	} catch (error) {
		const message = isBackupError(error) ? `${error.message}. ${error.hint}` : (error as Error).message;
		return { status: 'Error', message };
	}
}
